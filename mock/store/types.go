package store

import (
	"sync/atomic"
	"time"
)

// Location is a HighLevel sub-account: the unit that owns contacts and that a
// token is bound to.
type Location struct {
	ID       string `json:"id" yaml:"id"`
	Name     string `json:"name" yaml:"name"`
	Timezone string `json:"timezone,omitempty" yaml:"timezone,omitempty"`
	// AllowDuplicateContact mirrors the location setting "Allow Duplicate
	// Contact": when false, a second contact with a used email or phone is
	// rejected.
	AllowDuplicateContact bool `json:"allowDuplicateContact" yaml:"allowDuplicateContact"`
	// DuplicateOrder is the order in which email and phone are matched by
	// upsert and the duplicate search: "email", "phone". Empty means email first.
	DuplicateOrder []string         `json:"duplicateOrder,omitempty" yaml:"duplicateOrder,omitempty"`
	Calendars      []Calendar       `json:"calendars,omitempty" yaml:"calendars,omitempty"`
	CustomFields   []CustomFieldDef `json:"customFields,omitempty" yaml:"customFields,omitempty"`
	// Tags are the location's tags, as its tags API manages them
	// (location_lists.go).
	Tags []LocationTag `json:"tags,omitempty" yaml:"tags,omitempty"`
	// UnknownCustomFields is what a contact write does with a custom field
	// id the location does not define: UnknownFieldsKeep ("", the default),
	// UnknownFieldsDrop or UnknownFieldsReject.
	UnknownCustomFields string `json:"unknownCustomFields,omitempty" yaml:"unknownCustomFields,omitempty"`
}

// Calendar is a location's calendar that appointments are booked on.
type Calendar struct {
	ID   string `json:"id" yaml:"id"`
	Name string `json:"name" yaml:"name"`
}

// CustomFieldDef declares a custom field of a location. Key is the
// vendor's fieldKey ("contact.lead_score"); the rest is what the custom
// fields API keeps of a definition ("" model is contact).
type CustomFieldDef struct {
	ID               string   `json:"id" yaml:"id"`
	Key              string   `json:"key" yaml:"key"`
	Name             string   `json:"name" yaml:"name"`
	DataType         string   `json:"dataType,omitempty" yaml:"dataType,omitempty"`
	Model            string   `json:"model,omitempty" yaml:"model,omitempty"`
	Placeholder      string   `json:"placeholder,omitempty" yaml:"placeholder,omitempty"`
	Position         int      `json:"position,omitempty" yaml:"position,omitempty"`
	AcceptedFormat   []string `json:"acceptedFormat,omitempty" yaml:"acceptedFormat,omitempty"`
	IsMultipleFile   bool     `json:"isMultipleFile,omitempty" yaml:"isMultipleFile,omitempty"`
	MaxNumberOfFiles int      `json:"maxNumberOfFiles,omitempty" yaml:"maxNumberOfFiles,omitempty"`
}

// DNDSetting is the do-not-disturb state of one channel.
type DNDSetting struct {
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
	Code    string `json:"code,omitempty"`
}

// CustomFieldValue is a custom field set on a contact, kept in the JSON type
// it was written with: Value is a string value as is, or, with JSON set,
// the JSON text of a number, boolean, array or object. It encodes as the
// vendor answers it, {"id", "value"} with value in that type
// (customfield.go).
type CustomFieldValue struct {
	ID    string
	Value string
	JSON  bool
}

// Contact is a contact of a location.
type Contact struct {
	ID          string `json:"id"`
	LocationID  string `json:"locationId"`
	FirstName   string `json:"firstName,omitempty"`
	LastName    string `json:"lastName,omitempty"`
	Name        string `json:"name,omitempty"`
	Email       string `json:"email,omitempty"`
	Phone       string `json:"phone,omitempty"`
	CompanyName string `json:"companyName,omitempty"`
	Address1    string `json:"address1,omitempty"`
	City        string `json:"city,omitempty"`
	State       string `json:"state,omitempty"`
	Country     string `json:"country,omitempty"`
	PostalCode  string `json:"postalCode,omitempty"`
	Website     string `json:"website,omitempty"`
	Timezone    string `json:"timezone,omitempty"`
	Source      string `json:"source,omitempty"`
	Type        string `json:"type,omitempty"`
	Gender      string `json:"gender,omitempty"`
	AssignedTo  string `json:"assignedTo,omitempty"`
	BusinessID  string `json:"businessId,omitempty"`

	DND                bool                  `json:"dnd"`
	DNDSettings        map[string]DNDSetting `json:"dndSettings,omitempty"`
	InboundDNDSettings map[string]DNDSetting `json:"inboundDndSettings,omitempty"`

	Tags         []string           `json:"tags"`
	CustomFields []CustomFieldValue `json:"customFields"`
	// Followers are the ids of the users who follow the contact.
	Followers []string `json:"followers,omitempty"`
	// Campaigns and Workflows are the ids of the campaigns and workflows
	// the contact was added to (the twin models no campaign or workflow).
	Campaigns   []string   `json:"campaigns,omitempty"`
	Workflows   []string   `json:"workflows,omitempty"`
	DateOfBirth *time.Time `json:"dateOfBirth,omitempty"`
	DateAdded   time.Time  `json:"dateAdded"`
	DateUpdated time.Time  `json:"dateUpdated"`

	// memo is the stored contact's cache, new with each version; copies
	// have none.
	memo *Memo
}

// Memo is the cache a stored record carries for the API packages: a slot per
// rendering of the record (its JSON in a list, say), which they fill when
// they first need it. The store gives a record a new, empty Memo whenever
// the record changes, so a rendering found in one is always of the record's
// current version. It is safe for concurrent use; a nil *Memo caches
// nothing.
//
// The renderings of all the memos of a store's tables share one byte budget
// (memoCache, memo.go): past it, the ones kept longest are dropped, to be
// made again when next needed, so that a large store does not come to hold
// a rendering of every record it has served.
type Memo struct {
	slots [MemoSlots]atomic.Pointer[[]byte]
	cache *memoCache // nil: no budget
}

// MemoSlots is how many renderings a Memo keeps.
const MemoSlots = 2

// Load returns the rendering in slot i, or nil.
func (m *Memo) Load(i int) []byte {
	if m == nil {
		return nil
	}
	if p := m.slots[i].Load(); p != nil {
		return *p
	}
	return nil
}

// Store keeps b, which must not change afterwards, in slot i, until the
// record changes or the budget drops it.
func (m *Memo) Store(i int, b []byte) {
	if m == nil {
		return
	}
	old := m.slots[i].Swap(&b)
	if m.cache != nil {
		m.cache.kept(m, i, len(b)-size(old))
	}
}

// Task is a task on a contact.
type Task struct {
	ID         string    `json:"id"`
	ContactID  string    `json:"contactId"`
	Title      string    `json:"title"`
	Body       string    `json:"body,omitempty"`
	AssignedTo string    `json:"assignedTo,omitempty"`
	DueDate    time.Time `json:"dueDate"`
	Completed  bool      `json:"completed"`
	DateAdded  time.Time `json:"dateAdded"`
}

// Note is a note on a contact.
type Note struct {
	ID        string    `json:"id"`
	ContactID string    `json:"contactId"`
	Body      string    `json:"body"`
	UserID    string    `json:"userId,omitempty"`
	Title     string    `json:"title,omitempty"`
	Color     string    `json:"color,omitempty"`
	Pinned    bool      `json:"pinned"`
	DateAdded time.Time `json:"dateAdded"`
}

// Appointment is a calendar event booked for a contact.
type Appointment struct {
	ID                  string    `json:"id"`
	ContactID           string    `json:"contactId"`
	LocationID          string    `json:"locationId"`
	CalendarID          string    `json:"calendarId"`
	Title               string    `json:"title,omitempty"`
	Description         string    `json:"description,omitempty"`
	MeetingLocationType string    `json:"meetingLocationType,omitempty"`
	MeetingLocationID   string    `json:"meetingLocationId,omitempty"`
	AppointmentStatus   string    `json:"appointmentStatus"`
	AssignedUserID      string    `json:"assignedUserId,omitempty"`
	Address             string    `json:"address,omitempty"`
	RRule               string    `json:"rrule,omitempty"`
	StartTime           time.Time `json:"startTime"`
	EndTime             time.Time `json:"endTime"`
	// Offset is the UTC offset the client wrote the times in, in seconds, so
	// they are returned as written.
	Offset      int       `json:"offset"`
	DateAdded   time.Time `json:"dateAdded"`
	DateUpdated time.Time `json:"dateUpdated"`
}

// AppointmentNote is a note on an appointment (the calendars service's
// notes, apart from the contact's own).
type AppointmentNote struct {
	ID            string `json:"id"`
	AppointmentID string `json:"appointmentId"`
	// ContactID is the appointment's contact.
	ContactID string    `json:"contactId"`
	Body      string    `json:"body"`
	UserID    string    `json:"userId,omitempty"`
	DateAdded time.Time `json:"dateAdded"`
}

// State is the whole content of a store, as exported and imported.
type State struct {
	Locations    []Location    `json:"locations"`
	Contacts     []Contact     `json:"contacts"`
	Tasks        []Task        `json:"tasks"`
	Notes        []Note        `json:"notes"`
	Appointments []Appointment `json:"appointments"`
	// AppointmentNotes are the appointments' notes.
	AppointmentNotes []AppointmentNote `json:"appointmentNotes,omitempty"`
	// Webhooks are the HighLevel apps' webhook subscriptions (webhooks.go).
	Webhooks []Webhook `json:"webhooks,omitempty"`

	// The Marketing 360 tables (see m360_types.go).
	M360Accounts  []M360Account  `json:"m360Accounts,omitempty"`
	M360Contacts  []M360Contact  `json:"m360Contacts,omitempty"`
	M360Tasks     []M360Task     `json:"m360Tasks,omitempty"`
	M360Notes     []M360Note     `json:"m360Notes,omitempty"`
	M360Events    []M360Event    `json:"m360Events,omitempty"`
	M360Campaigns []M360Campaign `json:"m360Campaigns,omitempty"`
	M360Triggers  []M360Trigger  `json:"m360Triggers,omitempty"`
	M360Webhooks  []M360Webhook  `json:"m360Webhooks,omitempty"`
}
