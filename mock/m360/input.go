package m360

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/contactbridge/contactbridge/mock/pipeline"
	"github.com/contactbridge/contactbridge/mock/store"
	"github.com/contactbridge/contactbridge/mock/webhooks"
)

// opt is a field of a partial update: absent (Set false), null (Null), or a
// value.
type opt[T any] struct {
	Set, Null bool
	V         T
}

func (o *opt[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		var zero T
		o.Null, o.V = true, zero
		return nil
	}
	return json.Unmarshal(b, &o.V)
}

// problems collects the fields a request gets wrong.
type problems map[string]string

func (p problems) add(field, reason string) {
	if _, seen := p[field]; !seen {
		p[field] = reason
	}
}

// err is nil without problems, else a 422 naming every field in Meta and one
// message per field, sorted.
func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	fields := make([]string, 0, len(p))
	meta := make(map[string]any, len(p))
	for f, reason := range p {
		fields = append(fields, f)
		meta[f] = reason
	}
	slices.Sort(fields)
	msgs := make([]string, 0, len(fields))
	for _, f := range fields {
		msgs = append(msgs, f+" "+p[f])
	}
	return &pipeline.Error{Status: 422, Messages: msgs, Meta: meta}
}

// --- contacts ---

type refInput struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

type externalIDsInput struct {
	GHL *string `json:"ghl"`
}

// contactInput is the body of create and of the partial update: a field
// left out keeps its value (on create: is unset), null or "" clears it, and a
// field sent replaces its whole value (tags, types and customFields too).
type contactInput struct {
	FirstName    opt[string]            `json:"firstName"`
	LastName     opt[string]            `json:"lastName"`
	Email        opt[string]            `json:"email"`
	Phone        opt[string]            `json:"phone"`
	Company      opt[string]            `json:"company"`
	Tags         opt[[]string]          `json:"tags"`
	Source       opt[refInput]          `json:"source"`
	Types        opt[[]refInput]        `json:"types"`
	CustomFields opt[map[string]string] `json:"customFields"`
	ExternalIDs  opt[externalIDsInput]  `json:"externalIds"`
	NextContact  opt[int64]             `json:"nextContact"`
	Assignees    opt[assigneesInput]    `json:"assignees"`
}

// assigneesInput is the user a contact is assigned to.
type assigneesInput struct {
	Username string  `json:"username"`
	FullName *string `json:"fullName"`
	Email    *string `json:"email"`
}

// setExternalIDs writes the externalIds of a partial update onto dst: null
// or an absent ghl clears them.
func setExternalIDs(in opt[externalIDsInput], dst *store.M360ExternalIDs) {
	if in.Set {
		*dst = store.M360ExternalIDs{GHL: trimmed(in.V.GHL)}
	}
}

func trimmed(p *string) string {
	if p == nil {
		return ""
	}
	return strings.TrimSpace(*p)
}

// apply validates the fields sent and writes them onto c, or returns a 422
// naming the fields at fault. Create applies onto a blank contact.
func (in *contactInput) apply(c *store.M360Contact) error {
	p := problems{}
	for _, f := range []struct {
		v   opt[string]
		dst *string
	}{{in.FirstName, &c.FirstName}, {in.LastName, &c.LastName}, {in.Email, &c.Email}, {in.Phone, &c.Phone}, {in.Company, &c.Company}} {
		if f.v.Set {
			*f.dst = strings.TrimSpace(f.v.V)
		}
	}
	if in.Email.Set && c.Email != "" && !validEmail(c.Email) {
		p.add("email", "must be a valid email address")
	}
	if in.Phone.Set && c.Phone != "" && !validPhone(c.Phone) {
		p.add("phone", "must be a phone number: 7 to 15 digits, with optional +, spaces, dots, dashes and parentheses")
	}
	if in.Tags.Set {
		c.Tags = nil
		for i, tag := range in.Tags.V {
			tag = strings.TrimSpace(tag)
			switch {
			case tag == "":
				p.add(fmt.Sprintf("tags.%d", i), "must not be blank")
			case !slices.Contains(c.Tags, tag):
				c.Tags = append(c.Tags, tag)
			}
		}
	}
	if in.Source.Set {
		c.Source = nil
		if !in.Source.Null {
			if in.Source.V.ID < 1 {
				p.add("source.id", "must be a positive integer")
			}
			c.Source = &store.M360Ref{ID: in.Source.V.ID, Name: strings.TrimSpace(in.Source.V.Name)}
		}
	}
	if in.Types.Set {
		c.Types = nil
		for i, t := range in.Types.V {
			switch {
			case t.ID < 1:
				p.add(fmt.Sprintf("types.%d.id", i), "must be a positive integer")
			case !slices.ContainsFunc(c.Types, func(r store.M360Ref) bool { return r.ID == t.ID }):
				c.Types = append(c.Types, store.M360Ref{ID: t.ID, Name: strings.TrimSpace(t.Name)})
			}
		}
	}
	if in.CustomFields.Set {
		c.CustomFields = nil
		for key, value := range in.CustomFields.V {
			k := strings.TrimSpace(key)
			if n := utf8.RuneCountInString(k); n < 1 || n > 64 {
				p.add("customFields", "keys must be 1 to 64 characters")
				continue
			}
			if c.CustomFields == nil {
				c.CustomFields = map[string]string{}
			}
			c.CustomFields[k] = value
		}
	}
	setExternalIDs(in.ExternalIDs, &c.ExternalIDs)
	if in.NextContact.Set {
		c.NextContact = nil
		if !in.NextContact.Null {
			next := in.NextContact.V
			c.NextContact = &next
		}
	}
	if a := in.Assignees; a.Set {
		c.Assignees = nil
		if !a.Null {
			c.Assignees = &store.M360Assignee{Username: strings.TrimSpace(a.V.Username), FullName: trimmed(a.V.FullName), Email: trimmed(a.V.Email)}
			switch {
			case c.Assignees.Username == "":
				p.add("assignees.username", "must not be blank")
			case c.Assignees.Email != "" && !validEmail(c.Assignees.Email):
				p.add("assignees.email", "must be a valid email address")
			}
		}
	}
	return p.err()
}

// validEmail accepts a bare address (no display name) whose domain has a dot.
func validEmail(s string) bool {
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s {
		return false
	}
	_, domain, _ := strings.Cut(s, "@")
	return strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// validPhone accepts 7 to 15 digits with an optional leading + and spaces,
// dots, dashes and parentheses between them.
func validPhone(s string) bool {
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0:
		case strings.ContainsRune(" .-()", r):
		default:
			return false
		}
	}
	return digits >= 7 && digits <= 15
}

// --- tasks ---

type userInput struct {
	Username string `json:"username"`
}

// taskInput is the body of create (title required) and of the partial
// update.
type taskInput struct {
	Title       opt[string]           `json:"title"`
	Description opt[string]           `json:"description"`
	DueAt       opt[int64]            `json:"dueAt"`
	Completed   *bool                 `json:"completed"`
	Assignee    opt[userInput]        `json:"assignee"`
	ExternalIDs opt[externalIDsInput] `json:"externalIds"`
}

// apply writes the fields sent onto t; create requires a title.
func (in *taskInput) apply(t *store.M360Task, create bool) error {
	p := problems{}
	switch title := strings.TrimSpace(in.Title.V); {
	case in.Title.Set && in.Title.Null, in.Title.Set && title == "", create && !in.Title.Set:
		p.add("title", "must not be blank")
	case in.Title.Set:
		t.Title = title
	}
	if in.Description.Set {
		t.Description = strings.TrimSpace(in.Description.V)
	}
	if in.DueAt.Set {
		switch {
		case in.DueAt.Null:
			t.DueAt = nil
		case in.DueAt.V < 0:
			p.add("dueAt", "must be epoch seconds, 0 or more")
		default:
			due := in.DueAt.V
			t.DueAt = &due
		}
	}
	if in.Completed != nil {
		t.Completed = *in.Completed
	}
	if in.Assignee.Set {
		name, ok := username(in.Assignee)
		if !ok {
			p.add("assignee.username", "must not be blank")
		}
		t.Assignee = name
	}
	setExternalIDs(in.ExternalIDs, &t.ExternalIDs)
	return p.err()
}

// username returns the username of a user field ("" for null) and whether
// it is acceptable.
func username(u opt[userInput]) (string, bool) {
	if u.Null {
		return "", true
	}
	name := strings.TrimSpace(u.V.Username)
	return name, name != ""
}

// --- notes ---

type noteInput struct {
	Body        opt[string]           `json:"body"`
	Author      opt[userInput]        `json:"author"`
	ExternalIDs opt[externalIDsInput] `json:"externalIds"`
}

// apply writes the fields sent onto n; create requires a body.
func (in *noteInput) apply(n *store.M360Note, create bool) error {
	p := problems{}
	switch body := strings.TrimSpace(in.Body.V); {
	case in.Body.Set && in.Body.Null, in.Body.Set && body == "", create && !in.Body.Set:
		p.add("body", "must not be blank")
	case in.Body.Set:
		n.Body = in.Body.V
	}
	if in.Author.Set {
		name, ok := username(in.Author)
		if !ok {
			p.add("author.username", "must not be blank")
		}
		n.Author = name
	}
	setExternalIDs(in.ExternalIDs, &n.ExternalIDs)
	return p.err()
}

// --- calendar events ---

type eventInput struct {
	ContactID   opt[int64]            `json:"contactId"`
	Title       opt[string]           `json:"title"`
	Start       opt[int64]            `json:"start"`
	End         opt[int64]            `json:"end"`
	Location    opt[string]           `json:"location"`
	Status      opt[string]           `json:"status"`
	ExternalIDs opt[externalIDsInput] `json:"externalIds"`
}

var eventStatuses = []string{store.M360EventScheduled, store.M360EventCancelled, store.M360EventCompleted}

// apply writes the fields sent onto e; create requires contactId, start and
// end. That end is after start, and that the contact exists, the store checks.
func (in *eventInput) apply(e *store.M360Event, create bool) error {
	p := problems{}
	ints := []struct {
		name string
		v    opt[int64]
		dst  *int64
		min  int64
	}{{"contactId", in.ContactID, &e.ContactID, 1}, {"start", in.Start, &e.Start, 0}, {"end", in.End, &e.End, 0}}
	for _, f := range ints {
		switch {
		case !f.v.Set && create, f.v.Null:
			p.add(f.name, "is required")
		case f.v.Set && f.v.V < f.min:
			p.add(f.name, fmt.Sprintf("must be %d or more", f.min))
		case f.v.Set:
			*f.dst = f.v.V
		}
	}
	if in.Title.Set {
		e.Title = strings.TrimSpace(in.Title.V)
	}
	if in.Location.Set {
		e.Location = strings.TrimSpace(in.Location.V)
	}
	if in.Status.Set {
		if !slices.Contains(eventStatuses, in.Status.V) {
			p.add("status", "must be one of scheduled, cancelled, completed")
		}
		e.Status = in.Status.V
	}
	setExternalIDs(in.ExternalIDs, &e.ExternalIDs)
	return p.err()
}

// --- campaigns ---

type triggerInput struct {
	ContactID int64 `json:"contactId"`
}

// --- webhooks ---

// WebhookEvents are the events a subscription may name.
var WebhookEvents = []string{
	ContactCreated, ContactUpdated, ContactDeleted, TaskCreated, TaskUpdated, TaskCompleted, TaskDeleted, NoteCreated, EventCreated,
}

type webhookInput struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

// webhook validates the input, its URL by checkURL (nil: webhooks.CheckURL),
// and returns the subscription it describes: events kept once each, in the
// order given.
func (in *webhookInput) webhook(checkURL func(string) error) (store.M360Webhook, error) {
	if checkURL == nil {
		checkURL = webhooks.CheckURL
	}
	p := problems{}
	w := store.M360Webhook{URL: strings.TrimSpace(in.URL), Events: []string{}}
	if err := checkURL(w.URL); err != nil {
		p.add("url", err.Error())
	}
	for i, ev := range in.Events {
		switch {
		case !slices.Contains(WebhookEvents, ev):
			p.add(fmt.Sprintf("events.%d", i), "must be one of "+strings.Join(WebhookEvents, ", "))
		case !slices.Contains(w.Events, ev):
			w.Events = append(w.Events, ev)
		}
	}
	if len(in.Events) == 0 {
		p.add("events", "must name at least one event")
	}
	return w, p.err()
}
