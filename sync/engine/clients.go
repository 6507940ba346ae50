package engine

import (
	"context"
	"fmt"

	"github.com/contactbridge/contactbridge/sync/highlevelapi"
	"github.com/contactbridge/contactbridge/sync/m360api"
)

// HighLevel is the HighLevel calls the Converger makes. HighLevelClient
// adapts the generated client; tests put fakes in its place. Errors are
// those of highlevelapi.OK (a 404 matches highlevelapi.ErrNotFound) or the
// transport's (transport.ErrOutcomeUnknown).
type HighLevel interface {
	Contact(ctx context.Context, id string) (highlevelapi.Contact, error)
	Task(ctx context.Context, contactID, id string) (highlevelapi.Task, error)
	Tasks(ctx context.Context, contactID string) ([]highlevelapi.Task, error)
	CreateTask(ctx context.Context, contactID string, in highlevelapi.CreateTaskBody) (highlevelapi.Task, error)
	// UpdateTask is a partial update: the fields in is without keep theirs.
	UpdateTask(ctx context.Context, contactID, id string, in highlevelapi.UpdateTaskBody) (highlevelapi.Task, error)
	// CompleteTask is PUT /contacts/{contactId}/tasks/{taskId}/completed.
	CompleteTask(ctx context.Context, contactID, id string) error
	DeleteTask(ctx context.Context, contactID, id string) error
	Note(ctx context.Context, contactID, id string) (highlevelapi.Note, error)
	Notes(ctx context.Context, contactID string) ([]highlevelapi.Note, error)
	Appointment(ctx context.Context, id string) (highlevelapi.CalendarEventDTO, error)
}

// M360 is the Marketing 360 calls the Converger makes. M360Client adapts
// the generated client. Lists take an externalIds.ghl to match ("" for
// any) and return the first page. Errors are those of m360api.OK or the
// transport's.
type M360 interface {
	Contact(ctx context.Context, id int64) (m360api.Contact, error)
	Contacts(ctx context.Context, params *m360api.M360ListContactsParams) ([]m360api.Contact, error)
	CreateContact(ctx context.Context, in m360api.ContactInput) (m360api.Contact, error)
	ReplaceContact(ctx context.Context, id int64, in m360api.ContactInput) error
	Task(ctx context.Context, contactID, id int64) (m360api.Task, error)
	Tasks(ctx context.Context, contactID int64, externalID string) ([]m360api.Task, error)
	CreateTask(ctx context.Context, contactID int64, in m360api.TaskCreate) (m360api.Task, error)
	UpdateTask(ctx context.Context, contactID, id int64, in m360api.TaskUpdate) error
	DeleteTask(ctx context.Context, contactID, id int64) error
	Note(ctx context.Context, contactID, id int64) (m360api.Note, error)
	Notes(ctx context.Context, contactID int64, externalID string) ([]m360api.Note, error)
	CreateNote(ctx context.Context, contactID int64, in m360api.NoteCreate) (m360api.Note, error)
	UpdateNote(ctx context.Context, contactID, id int64, in m360api.NoteUpdate) error
	DeleteNote(ctx context.Context, contactID, id int64) error
	Event(ctx context.Context, id int64) (m360api.Event, error)
	Events(ctx context.Context, externalID string) ([]m360api.Event, error)
	CreateEvent(ctx context.Context, in m360api.EventCreate) (m360api.Event, error)
	UpdateEvent(ctx context.Context, id int64, in m360api.EventUpdate) error
	DeleteEvent(ctx context.Context, id int64) error
	// TriggerCampaign enters a contact into a campaign.
	TriggerCampaign(ctx context.Context, campaign, contact int64) error
}

// HighLevelClient is the HighLevel interface on the generated client.
func HighLevelClient(c *highlevelapi.ClientWithResponses) HighLevel { return hlClient{c} }

// M360Client is the M360 interface on the generated client.
func M360Client(c *m360api.ClientWithResponses) M360 { return m360Client{c} }

type hlClient struct {
	c *highlevelapi.ClientWithResponses
}

var _ HighLevel = hlClient{}

func (h hlClient) Contact(ctx context.Context, id string) (highlevelapi.Contact, error) {
	res, err := highlevelapi.OK(h.c.GetContactWithResponse(ctx, id,
		&highlevelapi.GetContactParams{Version: highlevelapi.GetContactParamsVersionN20210728}))
	if err != nil {
		return highlevelapi.Contact{}, fmt.Errorf("engine: read HighLevel contact %s: %w", id, err)
	}
	return res.JSON200.Contact, nil
}

func (h hlClient) Task(ctx context.Context, contactID, id string) (highlevelapi.Task, error) {
	res, err := highlevelapi.OK(h.c.GetTaskWithResponse(ctx, contactID, id,
		&highlevelapi.GetTaskParams{Version: highlevelapi.GetTaskParamsVersionN20210728}))
	if err != nil {
		return highlevelapi.Task{}, fmt.Errorf("engine: read HighLevel task %s: %w", id, err)
	}
	return res.JSON200.Task, nil
}

func (h hlClient) Tasks(ctx context.Context, contactID string) ([]highlevelapi.Task, error) {
	res, err := highlevelapi.OK(h.c.GetAllTasksWithResponse(ctx, contactID,
		&highlevelapi.GetAllTasksParams{Version: highlevelapi.GetAllTasksParamsVersionN20210728}))
	if err == nil && res.JSON200 == nil {
		err = highlevelapi.ErrNoBody
	}
	if err != nil {
		return nil, fmt.Errorf("engine: list HighLevel tasks of %s: %w", contactID, err)
	}
	return res.JSON200.Tasks, nil
}

func (h hlClient) CreateTask(ctx context.Context, contactID string, in highlevelapi.CreateTaskBody) (highlevelapi.Task, error) {
	res, err := highlevelapi.OK(h.c.CreateTaskWithResponse(ctx, contactID,
		&highlevelapi.CreateTaskParams{Version: highlevelapi.CreateTaskParamsVersionN20210728}, in))
	if err != nil {
		return highlevelapi.Task{}, fmt.Errorf("engine: create HighLevel task on %s: %w", contactID, err)
	}
	return res.JSON201.Task, nil
}

func (h hlClient) CompleteTask(ctx context.Context, contactID, id string) error {
	_, err := highlevelapi.OK(h.c.UpdateTaskCompletedWithResponse(ctx, contactID, id,
		&highlevelapi.UpdateTaskCompletedParams{Version: highlevelapi.UpdateTaskCompletedParamsVersionN20210728},
		highlevelapi.UpdateTaskCompletedJSONRequestBody{Completed: true}))
	if err != nil {
		return fmt.Errorf("engine: complete HighLevel task %s: %w", id, err)
	}
	return nil
}

func (h hlClient) UpdateTask(ctx context.Context, contactID, id string, in highlevelapi.UpdateTaskBody) (highlevelapi.Task, error) {
	res, err := highlevelapi.OK(h.c.UpdateTaskWithResponse(ctx, contactID, id,
		&highlevelapi.UpdateTaskParams{Version: highlevelapi.UpdateTaskParamsVersionN20210728}, in))
	if err != nil {
		return highlevelapi.Task{}, fmt.Errorf("engine: update HighLevel task %s: %w", id, err)
	}
	return res.JSON200.Task, nil
}

func (h hlClient) DeleteTask(ctx context.Context, contactID, id string) error {
	_, err := highlevelapi.OK(h.c.DeleteTaskWithResponse(ctx, contactID, id,
		&highlevelapi.DeleteTaskParams{Version: highlevelapi.DeleteTaskParamsVersionN20210728}))
	if err != nil {
		return fmt.Errorf("engine: delete HighLevel task %s: %w", id, err)
	}
	return nil
}

func (h hlClient) Note(ctx context.Context, contactID, id string) (highlevelapi.Note, error) {
	res, err := highlevelapi.OK(h.c.GetNoteWithResponse(ctx, contactID, id,
		&highlevelapi.GetNoteParams{Version: highlevelapi.GetNoteParamsVersionN20210728}))
	if err != nil {
		return highlevelapi.Note{}, fmt.Errorf("engine: read HighLevel note %s: %w", id, err)
	}
	return res.JSON200.Note, nil
}

func (h hlClient) Notes(ctx context.Context, contactID string) ([]highlevelapi.Note, error) {
	res, err := highlevelapi.OK(h.c.GetAllNotesWithResponse(ctx, contactID,
		&highlevelapi.GetAllNotesParams{Version: highlevelapi.GetAllNotesParamsVersionN20210728}))
	if err == nil && res.JSON200 == nil {
		err = highlevelapi.ErrNoBody
	}
	if err != nil {
		return nil, fmt.Errorf("engine: list HighLevel notes of %s: %w", contactID, err)
	}
	return res.JSON200.Notes, nil
}

func (h hlClient) Appointment(ctx context.Context, id string) (highlevelapi.CalendarEventDTO, error) {
	res, err := highlevelapi.OK(h.c.GetAppointmentWithResponse(ctx, id,
		&highlevelapi.GetAppointmentParams{Version: highlevelapi.GetAppointmentParamsVersionN20210415}))
	if err != nil {
		return highlevelapi.CalendarEventDTO{}, fmt.Errorf("engine: read HighLevel appointment %s: %w", id, err)
	}
	return res.JSON200.Event, nil
}

type m360Client struct{ c *m360api.ClientWithResponses }

var _ M360 = m360Client{}

func (m m360Client) Contact(ctx context.Context, id int64) (m360api.Contact, error) {
	res, err := m360api.OK(m.c.M360GetContactWithResponse(ctx, id))
	if err != nil {
		return m360api.Contact{}, fmt.Errorf("engine: read Marketing 360 contact %d: %w", id, err)
	}
	return res.JSON200.Result, nil
}

func (m m360Client) Contacts(ctx context.Context, params *m360api.M360ListContactsParams) ([]m360api.Contact, error) {
	res, err := m360api.OK(m.c.M360ListContactsWithResponse(ctx, params))
	if err != nil {
		return nil, fmt.Errorf("engine: list Marketing 360 contacts: %w", err)
	}
	return res.JSON200.Result, nil
}

func (m m360Client) CreateContact(ctx context.Context, in m360api.ContactInput) (m360api.Contact, error) {
	res, err := m360api.OK(m.c.M360CreateContactWithResponse(ctx, in))
	if err != nil {
		return m360api.Contact{}, fmt.Errorf("engine: create Marketing 360 contact: %w", err)
	}
	return res.JSON201.Result, nil
}

func (m m360Client) ReplaceContact(ctx context.Context, id int64, in m360api.ContactInput) error {
	if _, err := m360api.OK(m.c.M360ReplaceContactWithResponse(ctx, id, in)); err != nil {
		return fmt.Errorf("engine: update Marketing 360 contact %d: %w", id, err)
	}
	return nil
}

func (m m360Client) Task(ctx context.Context, contactID, id int64) (m360api.Task, error) {
	res, err := m360api.OK(m.c.M360GetTaskWithResponse(ctx, contactID, id))
	if err != nil {
		return m360api.Task{}, fmt.Errorf("engine: read Marketing 360 task %d: %w", id, err)
	}
	return res.JSON200.Result, nil
}

func (m m360Client) Tasks(ctx context.Context, contactID int64, externalID string) ([]m360api.Task, error) {
	res, err := m360api.OK(m.c.M360ListContactTasksWithResponse(ctx, contactID,
		&m360api.M360ListContactTasksParams{ExternalId: optional(externalID)}))
	if err != nil {
		return nil, fmt.Errorf("engine: list Marketing 360 tasks of %d: %w", contactID, err)
	}
	return res.JSON200.Result, nil
}

func (m m360Client) CreateTask(ctx context.Context, contactID int64, in m360api.TaskCreate) (m360api.Task, error) {
	res, err := m360api.OK(m.c.M360CreateTaskWithResponse(ctx, contactID, in))
	if err != nil {
		return m360api.Task{}, fmt.Errorf("engine: create Marketing 360 task: %w", err)
	}
	return res.JSON201.Result, nil
}

func (m m360Client) UpdateTask(ctx context.Context, contactID, id int64, in m360api.TaskUpdate) error {
	if _, err := m360api.OK(m.c.M360UpdateTaskWithResponse(ctx, contactID, id, in)); err != nil {
		return fmt.Errorf("engine: update Marketing 360 task %d: %w", id, err)
	}
	return nil
}

func (m m360Client) DeleteTask(ctx context.Context, contactID, id int64) error {
	if _, err := m360api.OK(m.c.M360DeleteTaskWithResponse(ctx, contactID, id)); err != nil {
		return fmt.Errorf("engine: delete Marketing 360 task %d: %w", id, err)
	}
	return nil
}

func (m m360Client) Note(ctx context.Context, contactID, id int64) (m360api.Note, error) {
	res, err := m360api.OK(m.c.M360GetNoteWithResponse(ctx, contactID, id))
	if err != nil {
		return m360api.Note{}, fmt.Errorf("engine: read Marketing 360 note %d: %w", id, err)
	}
	return res.JSON200.Result, nil
}

func (m m360Client) Notes(ctx context.Context, contactID int64, externalID string) ([]m360api.Note, error) {
	res, err := m360api.OK(m.c.M360ListNotesWithResponse(ctx, contactID, &m360api.M360ListNotesParams{ExternalId: optional(externalID)}))
	if err != nil {
		return nil, fmt.Errorf("engine: list Marketing 360 notes of %d: %w", contactID, err)
	}
	return res.JSON200.Result, nil
}

func (m m360Client) CreateNote(ctx context.Context, contactID int64, in m360api.NoteCreate) (m360api.Note, error) {
	res, err := m360api.OK(m.c.M360CreateNoteWithResponse(ctx, contactID, in))
	if err != nil {
		return m360api.Note{}, fmt.Errorf("engine: create Marketing 360 note: %w", err)
	}
	return res.JSON201.Result, nil
}

func (m m360Client) UpdateNote(ctx context.Context, contactID, id int64, in m360api.NoteUpdate) error {
	if _, err := m360api.OK(m.c.M360UpdateNoteWithResponse(ctx, contactID, id, in)); err != nil {
		return fmt.Errorf("engine: update Marketing 360 note %d: %w", id, err)
	}
	return nil
}

func (m m360Client) DeleteNote(ctx context.Context, contactID, id int64) error {
	if _, err := m360api.OK(m.c.M360DeleteNoteWithResponse(ctx, contactID, id)); err != nil {
		return fmt.Errorf("engine: delete Marketing 360 note %d: %w", id, err)
	}
	return nil
}

func (m m360Client) Event(ctx context.Context, id int64) (m360api.Event, error) {
	res, err := m360api.OK(m.c.M360GetEventWithResponse(ctx, id))
	if err != nil {
		return m360api.Event{}, fmt.Errorf("engine: read Marketing 360 event %d: %w", id, err)
	}
	return res.JSON200.Result, nil
}

func (m m360Client) Events(ctx context.Context, externalID string) ([]m360api.Event, error) {
	res, err := m360api.OK(m.c.M360ListEventsWithResponse(ctx, &m360api.M360ListEventsParams{ExternalId: optional(externalID)}))
	if err != nil {
		return nil, fmt.Errorf("engine: list Marketing 360 events: %w", err)
	}
	return res.JSON200.Result, nil
}

func (m m360Client) CreateEvent(ctx context.Context, in m360api.EventCreate) (m360api.Event, error) {
	res, err := m360api.OK(m.c.M360CreateEventWithResponse(ctx, in))
	if err != nil {
		return m360api.Event{}, fmt.Errorf("engine: create Marketing 360 event: %w", err)
	}
	return res.JSON201.Result, nil
}

func (m m360Client) UpdateEvent(ctx context.Context, id int64, in m360api.EventUpdate) error {
	if _, err := m360api.OK(m.c.M360UpdateEventWithResponse(ctx, id, in)); err != nil {
		return fmt.Errorf("engine: update Marketing 360 event %d: %w", id, err)
	}
	return nil
}

func (m m360Client) DeleteEvent(ctx context.Context, id int64) error {
	if _, err := m360api.OK(m.c.M360DeleteEventWithResponse(ctx, id)); err != nil {
		return fmt.Errorf("engine: delete Marketing 360 event %d: %w", id, err)
	}
	return nil
}

func (m m360Client) TriggerCampaign(ctx context.Context, campaign, contact int64) error {
	if _, err := m360api.OK(m.c.M360TriggerCampaignWithResponse(ctx, campaign, m360api.TriggerInput{ContactId: contact})); err != nil {
		return fmt.Errorf("engine: trigger Marketing 360 campaign %d for %d: %w", campaign, contact, err)
	}
	return nil
}

// optional is s as an optional parameter: nil for "".
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
