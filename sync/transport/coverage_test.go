package transport

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/openapi"
	"github.com/contactbridge/contactbridge/sync/highlevelapi"
	"github.com/contactbridge/contactbridge/sync/internal/twintest"
	"github.com/contactbridge/contactbridge/sync/m360api"
)

// operations records the operation of every request that reaches it.
type operations struct {
	spec *openapi.Spec
	base http.RoundTripper

	mu   sync.Mutex
	seen map[string]bool
}

func (o *operations) RoundTrip(req *http.Request) (*http.Response, error) {
	if route, err := o.spec.FindRoute(req); err == nil {
		o.mu.Lock()
		if o.seen == nil {
			o.seen = map[string]bool{}
		}
		o.seen[route.Operation.ID] = true
		o.mu.Unlock()
	}
	return o.base.RoundTrip(req)
}

// missing lists the spec's operations not seen.
func (o *operations) missing() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for _, op := range o.spec.Operations() {
		if !o.seen[op.ID] {
			out = append(out, op.ID)
		}
	}
	return out
}

// must returns a check that fails the test on an error or an answer
// outside 2xx and 3xx, and otherwise returns the answer.
func must[R interface{ StatusCode() int }](res R, err error) func(t *testing.T, what string) R {
	return func(t *testing.T, what string) R {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if code := res.StatusCode(); code >= 400 {
			t.Fatalf("%s: status %d", what, code)
		}
		return res
	}
}

func ptr[T any](v T) *T { return &v }

func TestEveryHighLevelOperationThroughTheStrictStack(t *testing.T) {
	w := twintest.New(t, twintest.Options{})
	ops := &operations{spec: w.HighLevelSpec(), base: w.Base()}
	stack := New(Config{Auth: &Bearer{Token: w.PIT(), Location: w.Location()}, Specs: []*openapi.Spec{w.HighLevelSpec()},
		Strict: true, Clock: w.Clock(), Base: ops})
	// The consent page redirects to the app: that answer is the result.
	hc := &http.Client{Transport: stack, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	c, err := highlevelapi.New(w.HighLevelURL(), hc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, loc, app := context.Background(), w.Location(), w.App()
	start := w.Clock().Now().Add(48 * time.Hour)

	created := must(c.CreateContactWithResponse(ctx, nil, highlevelapi.CreateContactDto{
		LocationId: loc, FirstName: ptr("Ada"), Email: ptr("ada@example.com"), Tags: ptr([]string{"a"})}))(t, "create-contact")
	id := created.JSON201.Contact.Id
	must(c.GetContactWithResponse(ctx, id, nil))(t, "get-contact")
	must(c.UpdateContactWithResponse(ctx, id, nil, highlevelapi.UpdateContactDto{LastName: ptr("Lovelace")}))(t, "update-contact")
	must(c.UpsertContactWithResponse(ctx, nil, highlevelapi.UpsertContactDto{LocationId: loc, Email: ptr("ada@example.com")}))(t, "upsert-contact")
	must(c.GetContactsWithResponse(ctx, &highlevelapi.GetContactsParams{LocationId: loc}))(t, "get-contacts")
	must(c.SearchContactsAdvancedWithResponse(ctx, nil, highlevelapi.SearchBodyV2DTO{LocationId: loc, PageLimit: 10}))(t, "search-contacts-advanced")
	must(c.GetDuplicateContactWithResponse(ctx, &highlevelapi.GetDuplicateContactParams{LocationId: loc, Email: ptr("ada@example.com")}))(t, "get-duplicate-contact")
	must(c.GetContactsByBusinessIdWithResponse(ctx, "biz1", &highlevelapi.GetContactsByBusinessIdParams{LocationId: loc}))(t, "get-contacts-by-businessId")

	task := must(c.CreateTaskWithResponse(ctx, id, nil, highlevelapi.CreateTaskBody{Title: "Call", DueDate: start}))(t, "create-task")
	taskID := task.JSON201.Task.Id
	must(c.GetAllTasksWithResponse(ctx, id, nil))(t, "get-all-tasks")
	must(c.GetTaskWithResponse(ctx, id, taskID, nil))(t, "get-task")
	must(c.UpdateTaskWithResponse(ctx, id, taskID, nil, highlevelapi.UpdateTaskBody{Title: ptr("Call back")}))(t, "update-task")
	must(c.UpdateTaskCompletedWithResponse(ctx, id, taskID, nil, highlevelapi.UpdateTaskCompletedJSONRequestBody{Completed: true}))(t, "update-task-completed")

	note := must(c.CreateNoteWithResponse(ctx, id, nil, highlevelapi.NotesDTO{Body: "Met at the fair"}))(t, "create-note")
	noteID := note.JSON201.Note.Id
	must(c.GetAllNotesWithResponse(ctx, id, nil))(t, "get-all-notes")
	must(c.GetNoteWithResponse(ctx, id, noteID, nil))(t, "get-note")
	must(c.UpdateNoteWithResponse(ctx, id, noteID, nil, highlevelapi.UpdateNoteDTO{Body: ptr("Met at the fair, twice")}))(t, "update-note")

	must(c.AddTagsWithResponse(ctx, id, nil, highlevelapi.TagsDTO{Tags: []string{"b"}}))(t, "add-tags")
	must(c.RemoveTagsWithResponse(ctx, id, nil, highlevelapi.TagsDTO{Tags: []string{"a"}}))(t, "remove-tags")
	must(c.AddFollowersContactWithResponse(ctx, id, nil, highlevelapi.FollowersDTO{Followers: []string{"user-1"}}))(t, "add-followers-contact")
	must(c.RemoveFollowersContactWithResponse(ctx, id, nil, highlevelapi.FollowersDTO{Followers: []string{"user-1"}}))(t, "remove-followers-contact")
	must(c.AddContactToCampaignWithResponse(ctx, id, "camp-1", nil, highlevelapi.AddContactToCampaignDto{}))(t, "add-contact-to-campaign")
	must(c.RemoveContactFromCampaignWithResponse(ctx, id, "camp-1", nil))(t, "remove-contact-from-campaign")
	must(c.RemoveContactFromEveryCampaignWithResponse(ctx, id, nil))(t, "remove-contact-from-every-campaign")
	must(c.AddContactToWorkflowWithResponse(ctx, id, "wf-1", nil, highlevelapi.CreateWorkflowDto{EventStartTime: ptr(start)}))(t, "add-contact-to-workflow")
	must(c.DeleteContactFromWorkflowWithResponse(ctx, id, "wf-1", nil, highlevelapi.CreateWorkflowDto{}))(t, "delete-contact-from-workflow")

	appt := must(c.CreateAppointmentWithResponse(ctx, nil, highlevelapi.AppointmentCreateSchema{
		CalendarId: w.Calendar(), ContactId: id, LocationId: loc, StartTime: start, EndTime: ptr(start.Add(30 * time.Minute))}))(t, "create-appointment")
	must(c.EditAppointmentWithResponse(ctx, appt.JSON200.Id, nil, highlevelapi.AppointmentEditSchema{Title: ptr("Demo")}))(t, "edit-appointment")
	must(c.CreateContactAppointmentWithResponse(ctx, id, nil, highlevelapi.ContactAppointmentCreateSchema{
		CalendarId: w.Calendar(), StartTime: start.Add(2 * time.Hour), EndTime: ptr(start.Add(150 * time.Minute))}))(t, "create-contact-appointment")
	must(c.GetAppointmentsForContactWithResponse(ctx, id, nil))(t, "get-appointments-for-contact")
	must(c.GetAppointmentWithResponse(ctx, appt.JSON200.Id, nil))(t, "get-appointment")
	must(c.GetCalendarEventsWithResponse(ctx, &highlevelapi.GetCalendarEventsParams{LocationId: loc, CalendarId: ptr(w.Calendar()),
		StartTime: strconv.FormatInt(start.UnixMilli(), 10), EndTime: strconv.FormatInt(start.Add(time.Hour).UnixMilli(), 10)}))(t, "get-calendar-events")
	apNote := must(c.CreateAppointmentNoteWithResponse(ctx, appt.JSON200.Id, nil, highlevelapi.AppointmentNotesDTO{Body: "Bring the contract"}))(t, "create-appointment-note")
	must(c.GetAppointmentNotesWithResponse(ctx, appt.JSON200.Id, &highlevelapi.GetAppointmentNotesParams{Limit: 10}))(t, "get-appointment-notes")
	must(c.UpdateAppointmentNoteWithResponse(ctx, appt.JSON200.Id, apNote.JSON201.Note.Id, nil, highlevelapi.AppointmentNotesDTO{Body: "Signed"}))(t, "update-appointment-note")
	must(c.DeleteAppointmentNoteWithResponse(ctx, appt.JSON200.Id, apNote.JSON201.Note.Id, nil))(t, "delete-appointment-note")
	must(c.DeleteEventWithResponse(ctx, appt.JSON200.Id, nil, highlevelapi.DeleteEventJSONRequestBody{}))(t, "delete-event")
	must(c.CreateAssociationWithResponse(ctx, "add", nil, highlevelapi.UpdateTagsDTO{Contacts: []string{id}, Tags: []string{"bulk"}, LocationId: loc}))(t, "create-association")
	must(c.AddRemoveContactFromBusinessWithResponse(ctx, nil, highlevelapi.ContactsBusinessUpdate{Ids: []string{id}, LocationId: loc, BusinessId: ptr("biz1")}))(t, "add-remove-contact-from-business")

	field := must(c.CreateCustomFieldWithResponse(ctx, loc, nil, highlevelapi.CreateCustomFieldsDTO{Name: "Shoe size", DataType: "NUMERICAL"}))(t, "create-custom-field")
	fieldID := field.JSON201.CustomField.Id
	must(c.GetCustomFieldsWithResponse(ctx, loc, nil))(t, "get-custom-fields")
	must(c.GetCustomFieldWithResponse(ctx, loc, fieldID, nil))(t, "get-custom-field")
	must(c.UpdateCustomFieldWithResponse(ctx, loc, fieldID, nil, highlevelapi.UpdateCustomFieldsDTO{Name: "Shoe size (EU)"}))(t, "update-custom-field")
	must(c.DeleteCustomFieldWithResponse(ctx, loc, fieldID, nil))(t, "delete-custom-field")
	tag := must(c.CreateTagWithResponse(ctx, loc, nil, highlevelapi.TagBody{Name: "vip"}))(t, "create-tag")
	tagID := tag.JSON200.Tag.Id
	must(c.GetLocationTagsWithResponse(ctx, loc, nil))(t, "get-location-tags")
	must(c.GetTagByIdWithResponse(ctx, loc, tagID, nil))(t, "get-tag-by-id")
	must(c.UpdateTagWithResponse(ctx, loc, tagID, nil, highlevelapi.TagBody{Name: "gold"}))(t, "update-tag")
	must(c.DeleteTagWithResponse(ctx, loc, tagID, nil))(t, "delete-tag")

	consent := highlevelapi.ChooseLocationParams{ResponseType: "code", ClientId: app.ClientID, RedirectUri: app.RedirectURI}
	must(c.ChooseLocationWithResponse(ctx, &consent))(t, "choose-location")
	v2 := highlevelapi.ChooseLocationV2Params{ResponseType: "code", ClientId: app.ClientID, RedirectUri: app.RedirectURI}
	must(c.ChooseLocationV2WithResponse(ctx, &v2))(t, "choose-location-v2")
	must(c.GetAccessTokenWithFormdataBodyWithResponse(ctx, highlevelapi.TokenRequest{
		ClientId: app.ClientID, ClientSecret: app.ClientSecret, GrantType: "authorization_code", Code: ptr(w.Authorize("s")), RedirectUri: ptr(app.RedirectURI)}))(t, "get-access-token")

	must(c.DeleteNoteWithResponse(ctx, id, noteID, nil))(t, "delete-note")
	must(c.DeleteTaskWithResponse(ctx, id, taskID, nil))(t, "delete-task")
	must(c.DeleteContactWithResponse(ctx, id, nil))(t, "delete-contact")

	if missing := ops.missing(); len(missing) > 0 {
		t.Errorf("operations never called: %v", missing)
	}
	if d := stack.Validate.Drift(); len(d) > 0 {
		t.Errorf("drift: %v", d)
	}
}

func TestEveryM360OperationThroughTheStrictStack(t *testing.T) {
	w := twintest.New(t, twintest.Options{})
	ops := &operations{spec: w.M360Spec(), base: w.Base()}
	id, secret := w.M360Key()
	stack := New(Config{Auth: &Basic{ClientID: id, ClientSecret: secret}, Specs: []*openapi.Spec{w.M360Spec()},
		Strict: true, Clock: w.Clock(), Base: ops})
	c, err := m360api.New(w.M360URL(), stack.Client())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	start := w.Clock().Now().Add(48 * time.Hour).Unix()

	must(c.M360GetAccountWithResponse(ctx))(t, "m360-get-account")
	contact := must(c.M360CreateContactWithResponse(ctx, m360api.ContactInput{
		FirstName: ptr("Ada"), Email: ptr("ada@example.com")}))(t, "m360-create-contact")
	cid := contact.JSON201.Result.Id
	must(c.M360GetContactWithResponse(ctx, cid))(t, "m360-get-contact")
	must(c.M360ReplaceContactWithResponse(ctx, cid, m360api.ContactInput{FirstName: ptr("Ada"), LastName: ptr("Lovelace"), Email: ptr("ada@example.com")}))(t, "m360-replace-contact")
	must(c.M360ListContactsWithResponse(ctx, nil))(t, "m360-list-contacts")

	task := must(c.M360CreateTaskWithResponse(ctx, cid, m360api.TaskCreate{Title: "Call"}))(t, "m360-create-task")
	tid := task.JSON201.Result.Id
	must(c.M360GetTaskWithResponse(ctx, cid, tid))(t, "m360-get-task")
	must(c.M360UpdateTaskWithResponse(ctx, cid, tid, m360api.TaskUpdate{Title: ptr("Call back"), Completed: ptr(true)}))(t, "m360-update-task")
	must(c.M360ListContactTasksWithResponse(ctx, cid, nil))(t, "m360-list-contact-tasks")
	must(c.M360ListTasksWithResponse(ctx, nil))(t, "m360-list-tasks")

	note := must(c.M360CreateNoteWithResponse(ctx, cid, m360api.NoteCreate{Body: "Met at the fair"}))(t, "m360-create-note")
	nid := note.JSON201.Result.Id
	must(c.M360GetNoteWithResponse(ctx, cid, nid))(t, "m360-get-note")
	must(c.M360UpdateNoteWithResponse(ctx, cid, nid, m360api.NoteUpdate{Body: ptr("Twice")}))(t, "m360-update-note")
	must(c.M360ListNotesWithResponse(ctx, cid, nil))(t, "m360-list-notes")
	must(c.M360ListAccountNotesWithResponse(ctx, &m360api.M360ListAccountNotesParams{ContactId: &cid}))(t, "m360-list-account-notes")

	event := must(c.M360CreateEventWithResponse(ctx, m360api.EventCreate{ContactId: cid, Title: ptr("Demo"), Start: start, End: start + 1800}))(t, "m360-create-event")
	eid := event.JSON201.Result.Id
	must(c.M360GetEventWithResponse(ctx, eid))(t, "m360-get-event")
	must(c.M360UpdateEventWithResponse(ctx, eid, m360api.EventUpdate{Title: ptr("Demo 2"), End: ptr(start + 3600)}))(t, "m360-update-event")
	must(c.M360ListEventsWithResponse(ctx, nil))(t, "m360-list-events")

	campaigns := must(c.M360ListCampaignsWithResponse(ctx, nil))(t, "m360-list-campaigns")
	var campaign int64
	for _, cp := range campaigns.JSON200.Result {
		if cp.Status == "active" {
			campaign = cp.Id
		}
	}
	must(c.M360GetCampaignWithResponse(ctx, campaign))(t, "m360-get-campaign")
	must(c.M360TriggerCampaignWithResponse(ctx, campaign, m360api.TriggerInput{ContactId: cid}))(t, "m360-trigger-campaign")
	must(c.M360ListCampaignTriggersWithResponse(ctx, campaign, nil))(t, "m360-list-campaign-triggers")

	hook := must(c.M360CreateWebhookWithResponse(ctx, m360api.WebhookInput{Url: "http://127.0.0.1:9/hooks", Events: []m360api.WebhookEvent{"contact.created"}}))(t, "m360-create-webhook")
	must(c.M360ListWebhooksWithResponse(ctx, nil))(t, "m360-list-webhooks")
	must(c.M360DeleteWebhookWithResponse(ctx, hook.JSON201.Result.Id))(t, "m360-delete-webhook")

	must(c.M360DeleteEventWithResponse(ctx, eid))(t, "m360-delete-event")
	must(c.M360DeleteNoteWithResponse(ctx, cid, nid))(t, "m360-delete-note")
	must(c.M360DeleteTaskWithResponse(ctx, cid, tid))(t, "m360-delete-task")
	must(c.M360DeleteContactWithResponse(ctx, cid))(t, "m360-delete-contact")

	if missing := ops.missing(); len(missing) > 0 {
		t.Errorf("operations never called: %v", missing)
	}
}
