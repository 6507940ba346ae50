package m360

import (
	"github.com/contactbridge/contactbridge/mock/store"
)

// result is the success envelope.
type result[T any] struct {
	Result T `json:"result"`
}

// listResult is the envelope of a list.
type listResult[T any] struct {
	Result   []T `json:"result"`
	Page     int `json:"page"`
	PageSize int `json:"pageSize"`
	Total    int `json:"total"`
}

func list[T, V any](items []T, total int, p store.M360Paging, view func(T) V) listResult[V] {
	out := make([]V, 0, len(items))
	for _, it := range items {
		out = append(out, view(it))
	}
	return listResult[V]{Result: out, Page: p.Page, PageSize: p.PageSize, Total: total}
}

type deletedView struct {
	ID      int64 `json:"id"`
	Deleted bool  `json:"deleted"`
}

// nullable is nil for the empty string: unset strings are null.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

type accountView struct {
	ID       int64   `json:"id"`
	Name     string  `json:"name"`
	Timezone *string `json:"timezone"`
	Created  int64   `json:"created"`
}

func viewAccount(a store.M360Account) accountView {
	return accountView{ID: a.ID, Name: a.Name, Timezone: nullable(a.Timezone), Created: a.Created}
}

type refView struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

type externalIDsView struct {
	GHL *string `json:"ghl"`
}

func viewExternalIDs(ids store.M360ExternalIDs) externalIDsView {
	return externalIDsView{GHL: nullable(ids.GHL)}
}

type contactView struct {
	ID           int64             `json:"id"`
	FirstName    *string           `json:"firstName"`
	LastName     *string           `json:"lastName"`
	Email        *string           `json:"email"`
	Phone        *string           `json:"phone"`
	Company      *string           `json:"company"`
	Tags         []string          `json:"tags"`
	Source       *refView          `json:"source"`
	Types        []refView         `json:"types"`
	CustomFields map[string]string `json:"customFields"`
	ExternalIDs  externalIDsView   `json:"externalIds"`
	NextContact  *int64            `json:"nextContact"`
	Assignees    *assigneesView    `json:"assignees"`
	Created      int64             `json:"created"`
	Updated      int64             `json:"updated"`
}

type assigneesView struct {
	Username string  `json:"username"`
	FullName *string `json:"fullName"`
	Email    *string `json:"email"`
}

func viewContact(c store.M360Contact) contactView {
	v := contactView{
		ID:           c.ID,
		FirstName:    nullable(c.FirstName),
		LastName:     nullable(c.LastName),
		Email:        nullable(c.Email),
		Phone:        nullable(c.Phone),
		Company:      nullable(c.Company),
		Tags:         append([]string{}, c.Tags...),
		Types:        make([]refView, 0, len(c.Types)),
		CustomFields: map[string]string{},
		ExternalIDs:  viewExternalIDs(c.ExternalIDs),
		Created:      c.Created,
		Updated:      c.Updated,
	}
	if c.Source != nil {
		v.Source = &refView{ID: c.Source.ID, Name: c.Source.Name}
	}
	for _, t := range c.Types {
		v.Types = append(v.Types, refView{ID: t.ID, Name: t.Name})
	}
	if c.NextContact != nil {
		next := *c.NextContact
		v.NextContact = &next
	}
	if a := c.Assignees; a != nil {
		v.Assignees = &assigneesView{Username: a.Username, FullName: nullable(a.FullName), Email: nullable(a.Email)}
	}
	for k, val := range c.CustomFields {
		v.CustomFields[k] = val
	}
	return v
}

type userView struct {
	Username string `json:"username"`
}

func viewUser(name string) *userView {
	if name == "" {
		return nil
	}
	return &userView{Username: name}
}

type taskView struct {
	ID          int64           `json:"id"`
	ContactID   int64           `json:"contactId"`
	Title       string          `json:"title"`
	Description *string         `json:"description"`
	DueAt       *int64          `json:"dueAt"`
	Completed   bool            `json:"completed"`
	CompletedAt *int64          `json:"completedAt"`
	Assignee    *userView       `json:"assignee"`
	ExternalIDs externalIDsView `json:"externalIds"`
	Created     int64           `json:"created"`
	Updated     int64           `json:"updated"`
}

func viewTask(t store.M360Task) taskView {
	return taskView{ID: t.ID, ContactID: t.ContactID, Title: t.Title, Description: nullable(t.Description),
		DueAt: t.DueAt, Completed: t.Completed, CompletedAt: t.CompletedAt, Assignee: viewUser(t.Assignee),
		ExternalIDs: viewExternalIDs(t.ExternalIDs), Created: t.Created, Updated: t.Updated}
}

type noteView struct {
	ID          int64           `json:"id"`
	ContactID   int64           `json:"contactId"`
	Body        string          `json:"body"`
	Author      *userView       `json:"author"`
	ExternalIDs externalIDsView `json:"externalIds"`
	Created     int64           `json:"created"`
	Updated     int64           `json:"updated"`
}

func viewNote(n store.M360Note) noteView {
	return noteView{ID: n.ID, ContactID: n.ContactID, Body: n.Body, Author: viewUser(n.Author),
		ExternalIDs: viewExternalIDs(n.ExternalIDs), Created: n.Created, Updated: n.Updated}
}

type eventView struct {
	ID          int64           `json:"id"`
	ContactID   int64           `json:"contactId"`
	Title       *string         `json:"title"`
	Start       int64           `json:"start"`
	End         int64           `json:"end"`
	Location    *string         `json:"location"`
	Status      string          `json:"status"`
	ExternalIDs externalIDsView `json:"externalIds"`
	Created     int64           `json:"created"`
	Updated     int64           `json:"updated"`
}

func viewEvent(e store.M360Event) eventView {
	return eventView{ID: e.ID, ContactID: e.ContactID, Title: nullable(e.Title), Start: e.Start, End: e.End,
		Location: nullable(e.Location), Status: e.Status, ExternalIDs: viewExternalIDs(e.ExternalIDs),
		Created: e.Created, Updated: e.Updated}
}

type campaignView struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
}

func viewCampaign(c store.M360Campaign) campaignView {
	return campaignView{ID: c.ID, Name: c.Name, Status: c.Status}
}

type triggerView struct {
	ID         int64 `json:"id"`
	CampaignID int64 `json:"campaignId"`
	ContactID  int64 `json:"contactId"`
	Created    int64 `json:"created"`
}

func viewTrigger(t store.M360Trigger) triggerView {
	return triggerView{ID: t.ID, CampaignID: t.CampaignID, ContactID: t.ContactID, Created: t.Created}
}

// webhookView is a subscription as listed: without its secret.
type webhookView struct {
	ID      int64    `json:"id"`
	URL     string   `json:"url"`
	Events  []string `json:"events"`
	Created int64    `json:"created"`
}

func viewWebhook(w store.M360Webhook) webhookView {
	return webhookView{ID: w.ID, URL: w.URL, Events: append([]string{}, w.Events...), Created: w.Created}
}

// webhookCreatedView is a new subscription, the one time its secret is shown.
type webhookCreatedView struct {
	ID      int64    `json:"id"`
	URL     string   `json:"url"`
	Events  []string `json:"events"`
	Secret  string   `json:"secret"`
	Created int64    `json:"created"`
}

func viewWebhookCreated(w store.M360Webhook) webhookCreatedView {
	return webhookCreatedView{ID: w.ID, URL: w.URL, Events: append([]string{}, w.Events...), Secret: w.Secret, Created: w.Created}
}
