package mock_test

// End-to-end tests of the HighLevel twin over HTTP: every operation of
// openapi/highlevel.yaml, its success path, its 404 and its validation
// errors, and the behaviour the spec documents. Every twin runs in strict
// mode, so every response is also checked against the spec; TestMain (in
// testhelpers_test.go) fails the run on any 500 and, on a full run, when an
// operation was never reached with a 2xx, a 404 or a 400/422.

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock/auth"
)

var (
	idPattern        = regexp.MustCompile(`^[0-9A-Za-z]{20}$`)
	isoPattern       = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	eventTimePattern = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`)
	uuidPattern      = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

const contactNotFound = `{"statusCode":404,"message":"Contact not found","error":"Not Found"}`

// fixture is one contact with a task, a note and an appointment, and the
// path parameters that name them.
type fixture struct {
	contact     wireContact
	task        wireTask
	note        wireNote
	appointment wireAppointment
	// appointmentNote is a note of the appointment.
	appointmentNote wireAppointmentNote
	business        string
}

func mustFixture(tb testing.TB, e *twinEnv) fixture {
	tb.Helper()
	fx := fixture{business: "641c094001436dbc2081e642"}
	fx.contact = e.mustCreateContact(tb, jsonObj{"firstName": "Fixture", "businessId": fx.business})
	fx.task = e.mustCreateTask(tb, fx.contact.ID, "Call back")
	fx.note = e.mustCreateNote(tb, fx.contact.ID, "Met at the fair")
	fx.appointment = e.mustBook(tb, fx.contact.ID, "2024-03-05T10:00:00+05:30")
	fx.appointmentNote = e.mustCreateAppointmentNote(tb, fx.appointment.ID, "Bring the contract")
	// The task and the note bumped the contact's dateUpdated.
	fx.contact = mustDo[wireContactEnvelope](tb, e, "GET", "/contacts/"+fx.contact.ID, nil, http.StatusOK).Contact
	return fx
}

// path fills an operation's path template with the fixture's ids and adds
// the required locationId query parameter.
func (fx fixture) path(e *twinEnv, template string) string {
	p := strings.NewReplacer("{contactId}", fx.contact.ID, "{taskId}", fx.task.ID, "{id}", fx.note.ID,
		"{eventId}", fx.appointment.ID, "{businessId}", fx.business, "{appointmentId}", fx.appointment.ID,
		"{noteId}", fx.appointmentNote.ID, "{type}", "add", "{locationId}", e.loc.ID, "{tagId}", "NoSuchTag00000000000").Replace(template)
	switch template {
	case "/contacts/", "/contacts/search/duplicate", "/contacts/business/{businessId}":
		p += "?locationId=" + e.loc.ID
	case "/calendars/events":
		p += "?locationId=" + e.loc.ID + "&calendarId=" + e.loc.Calendars[0].ID + "&startTime=0&endTime=4102444800000"
	case "/calendars/appointments/{appointmentId}/notes":
		p += "?limit=10&offset=0"
	}
	return p
}

// validBody returns a body the operation accepts.
func (fx fixture) validBody(e *twinEnv, operation string) any {
	switch operation {
	case "create-contact", "upsert-contact":
		return jsonObj{"locationId": e.loc.ID, "firstName": "Valid"}
	case "search-contacts-advanced":
		return jsonObj{"locationId": e.loc.ID, "pageLimit": 10}
	case "create-task":
		return jsonObj{"title": "t", "dueDate": "2024-03-08T10:00:00Z", "completed": false}
	case "update-task-completed":
		return jsonObj{"completed": true}
	case "create-note", "create-appointment-note", "update-appointment-note":
		return jsonObj{"body": "b"}
	case "create-custom-field":
		return jsonObj{"name": "Valid", "dataType": "TEXT"}
	case "update-custom-field", "create-tag", "update-tag":
		return jsonObj{"name": "valid"}
	case "create-association":
		return jsonObj{"locationId": e.loc.ID, "contacts": []string{fx.contact.ID}, "tags": []string{"x"}}
	case "add-remove-contact-from-business":
		return jsonObj{"locationId": e.loc.ID, "ids": []string{fx.contact.ID}, "businessId": nil}
	case "add-tags", "remove-tags":
		return jsonObj{"tags": []string{"x"}}
	case "add-followers-contact", "remove-followers-contact":
		return jsonObj{"followers": []string{"x"}}
	case "create-appointment":
		return jsonObj{"calendarId": e.loc.Calendars[0].ID, "locationId": e.loc.ID, "contactId": fx.contact.ID,
			"startTime": "2024-03-05T10:00:00+05:30"}
	case "create-contact-appointment":
		return jsonObj{"calendarId": e.loc.Calendars[0].ID, "startTime": "2024-03-05T10:00:00+05:30"}
	}
	return jsonObj{}
}

// TestOperations_HeaderAndBodyErrors sends every authenticated operation of
// the spec a request without Version, with an unknown Version and, when it
// takes a body, malformed JSON and a non-JSON content type: all are 400.
// The OAuth operations (security: [], no Version, form bodies) are tested
// in oauth_test.go.
func TestOperations_HeaderAndBodyErrors(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	fx := mustFixture(t, e)
	for _, op := range suiteSpec.Operations() {
		if !op.Authenticated {
			continue
		}
		t.Run(op.ID, func(t *testing.T) {
			path := fx.path(e, op.Path)
			var body any
			if op.Spec.RequestBody != nil {
				body = fx.validBody(e, op.ID)
			}
			r := e.call(t, apiRequest{method: op.Method, path: path, body: body, version: omitHeader})
			mustError(t, r, http.StatusBadRequest, "Version header is missing")
			r = e.call(t, apiRequest{method: op.Method, path: path, body: body, version: "2020-01-01"})
			mustError(t, r, http.StatusBadRequest, "Version is not one of the allowed values")
			if op.Spec.RequestBody == nil {
				return
			}
			r = e.call(t, apiRequest{method: op.Method, path: path, body: `{"title": `})
			mustError(t, r, http.StatusBadRequest, "Request body is not valid JSON")
			r = e.call(t, apiRequest{method: op.Method, path: path, body: "title=x", contentType: "application/x-www-form-urlencoded"})
			mustError(t, r, http.StatusBadRequest, "Content-Type")
		})
	}
}

// TestOperations_CalendarsVersion checks that the calendars routes want
// their own Version and the contacts routes theirs.
func TestOperations_CalendarsVersion(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	fx := mustFixture(t, e)
	r := e.call(t, apiRequest{method: "POST", path: "/calendars/events/appointments",
		body: fx.validBody(e, "create-appointment"), version: versionContacts})
	mustError(t, r, http.StatusBadRequest, "Version is not one of the allowed values")
	r = e.call(t, apiRequest{method: "GET", path: "/contacts/" + fx.contact.ID, version: versionCalendars})
	mustError(t, r, http.StatusBadRequest, "Version is not one of the allowed values")
	// The official SDK's default is accepted on both.
	for _, path := range []string{"/contacts/" + fx.contact.ID} {
		r = e.call(t, apiRequest{method: "GET", path: path, version: "2023-02-21"})
		mustStatus(t, r, http.StatusOK)
	}
	r = e.call(t, apiRequest{method: "PUT", path: "/calendars/events/appointments/" + fx.appointment.ID,
		body: jsonObj{"title": "SDK"}, version: "2023-02-21"})
	mustStatus(t, r, http.StatusOK)
}

// TestOperations_Validation sends each operation values that break its
// schema: 422 with an array message naming the field.
func TestOperations_Validation(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	fx := mustFixture(t, e)
	c, tk, n, ap := fx.contact.ID, fx.task.ID, fx.note.ID, fx.appointment.ID
	loc := e.loc.ID
	cal := e.loc.Calendars[0].ID
	apNotes := "/calendars/appointments/" + ap + "/notes"
	tests := []struct {
		name, method, path string
		body               any
		want               string
	}{
		{"create-contact/email type", "POST", "/contacts/", jsonObj{"locationId": loc, "email": 5}, "email must be a string"},
		{"create-contact/no locationId", "POST", "/contacts/", jsonObj{"firstName": "x"}, "locationId should not be empty"},
		{"create-contact/tags type", "POST", "/contacts/", jsonObj{"locationId": loc, "tags": "vip"}, "tags must be an array"},
		{"create-contact/bad email", "POST", "/contacts/", jsonObj{"locationId": loc, "email": "not-an-email"}, "email must be an email"},
		{"create-contact/bad phone", "POST", "/contacts/", jsonObj{"locationId": loc, "phone": "call me"}, "phone must be a valid phone number"},
		{"create-contact/bad birth date", "POST", "/contacts/", jsonObj{"locationId": loc, "dateOfBirth": "25th of May"}, "dateOfBirth"},
		{"create-contact/unknown custom field", "POST", "/contacts/", jsonObj{"locationId": loc,
			"customFields": []jsonObj{{"key": "contact.nope", "field_value": "x"}}}, "customFields"},
		{"create-contact/dnd type", "POST", "/contacts/", jsonObj{"locationId": loc, "dnd": "yes"}, "dnd must be a boolean"},
		{"update-contact/tags type", "PUT", "/contacts/" + c, jsonObj{"tags": "vip"}, "tags must be an array"},
		{"update-contact/name too long", "PUT", "/contacts/" + c, jsonObj{"firstName": strings.Repeat("a", 256)}, "firstName"},
		{"update-contact/dnd status", "PUT", "/contacts/" + c, jsonObj{"dndSettings": jsonObj{"SMS": jsonObj{"status": "maybe"}}}, "dndSettings.SMS.status"},
		{"upsert-contact/phone type", "POST", "/contacts/upsert", jsonObj{"locationId": loc, "phone": true}, "phone must be a string"},
		{"upsert-contact/flag type", "POST", "/contacts/upsert", jsonObj{"locationId": loc, "createNewIfDuplicateAllowed": "yes"}, "createNewIfDuplicateAllowed must be a boolean"},
		{"search/no pageLimit", "POST", "/contacts/search", jsonObj{"locationId": loc}, "pageLimit should not be empty"},
		{"search/pageLimit type", "POST", "/contacts/search", jsonObj{"locationId": loc, "pageLimit": "ten"}, "pageLimit must be an integer"},
		{"search/pageLimit max", "POST", "/contacts/search", jsonObj{"locationId": loc, "pageLimit": 501}, "pageLimit"},
		{"search/no locationId", "POST", "/contacts/search", jsonObj{"pageLimit": 5}, "locationId should not be empty"},
		{"search/operator", "POST", "/contacts/search", jsonObj{"locationId": loc, "pageLimit": 5,
			"filters": []jsonObj{{"field": "email", "operator": "like", "value": "a"}}}, "filters.0.operator"},
		{"search/field", "POST", "/contacts/search", jsonObj{"locationId": loc, "pageLimit": 5,
			"filters": []jsonObj{{"field": "shoeSize", "operator": "eq", "value": "9"}}}, "filters.0.field"},
		{"search/eq without value", "POST", "/contacts/search", jsonObj{"locationId": loc, "pageLimit": 5,
			"filters": []jsonObj{{"field": "email", "operator": "eq"}}}, "needs a value"},
		{"search/sort direction", "POST", "/contacts/search", jsonObj{"locationId": loc, "pageLimit": 5,
			"sort": []jsonObj{{"field": "email", "direction": "up"}}}, "sort.0.direction"},
		{"search/window", "POST", "/contacts/search", jsonObj{"locationId": loc, "pageLimit": 100, "page": 101}, "searchAfter"},
		{"search/page overflow", "POST", "/contacts/search", jsonObj{"locationId": loc, "pageLimit": 4, "page": int64(1) << 62}, "page * pageLimit"},
		{"search/searchAfter length", "POST", "/contacts/search", jsonObj{"locationId": loc, "pageLimit": 5,
			"searchAfter": []any{1, 2, "nope"}}, "searchAfter must hold 2 values"},
		{"search/searchAfter time", "POST", "/contacts/search", jsonObj{"locationId": loc, "pageLimit": 5,
			"sort": []jsonObj{{"field": "dateUpdated", "direction": "asc"}}, "searchAfter": []any{"yesterday", "x"}}, "searchAfter.0"},
		{"search/searchAfter id", "POST", "/contacts/search", jsonObj{"locationId": loc, "pageLimit": 5,
			"searchAfter": []any{1, 2}}, "searchAfter.1"},
		{"get-contacts/no locationId", "GET", "/contacts/", nil, "locationId should not be empty"},
		{"get-contacts/limit 101", "GET", "/contacts/?locationId=" + loc + "&limit=101", nil, "limit must be at most 100"},
		{"get-contacts/limit 0", "GET", "/contacts/?locationId=" + loc + "&limit=0", nil, "limit"},
		{"get-contacts/limit type", "GET", "/contacts/?locationId=" + loc + "&limit=ten", nil, "limit"},
		{"get-contacts/startAfter type", "GET", "/contacts/?locationId=" + loc + "&startAfter=yesterday&startAfterId=x", nil, "startAfter"},
		{"duplicate/no locationId", "GET", "/contacts/search/duplicate?email=a%40b.com", nil, "locationId should not be empty"},
		{"business/no locationId", "GET", "/contacts/business/" + fx.business, nil, "locationId should not be empty"},
		{"business/skip", "GET", "/contacts/business/" + fx.business + "?locationId=" + loc + "&skip=-1", nil, "skip"},
		{"business/limit", "GET", "/contacts/business/" + fx.business + "?locationId=" + loc + "&limit=x", nil, "limit"},
		{"create-task/completed type", "POST", "/contacts/" + c + "/tasks", jsonObj{"title": "t", "dueDate": "2024-03-08T10:00:00Z", "completed": "no"}, "completed must be a boolean"},
		{"create-task/no title", "POST", "/contacts/" + c + "/tasks", jsonObj{"dueDate": "2024-03-08T10:00:00Z", "completed": false}, "title should not be empty"},
		{"create-task/dueDate", "POST", "/contacts/" + c + "/tasks", jsonObj{"title": "t", "dueDate": "tomorrow", "completed": false}, "dueDate"},
		{"update-task/empty title", "PUT", "/contacts/" + c + "/tasks/" + tk, jsonObj{"title": ""}, "title"},
		{"update-task/completed type", "PUT", "/contacts/" + c + "/tasks/" + tk, jsonObj{"completed": 1}, "completed must be a boolean"},
		{"update-task-completed/missing", "PUT", "/contacts/" + c + "/tasks/" + tk + "/completed", jsonObj{}, "completed should not be empty"},
		{"update-task-completed/type", "PUT", "/contacts/" + c + "/tasks/" + tk + "/completed", jsonObj{"completed": "yes"}, "completed must be a boolean"},
		{"create-note/body type", "POST", "/contacts/" + c + "/notes", jsonObj{"body": 3}, "body must be a string"},
		{"create-note/no body", "POST", "/contacts/" + c + "/notes", jsonObj{"title": "t"}, "body should not be empty"},
		{"update-note/color", "PUT", "/contacts/" + c + "/notes/" + n, jsonObj{"color": "red"}, "color"},
		{"update-note/pinned type", "PUT", "/contacts/" + c + "/notes/" + n, jsonObj{"pinned": "yes"}, "pinned must be a boolean"},
		{"add-tags/empty", "POST", "/contacts/" + c + "/tags", jsonObj{"tags": []string{}}, "tags"},
		{"add-tags/type", "POST", "/contacts/" + c + "/tags", jsonObj{"tags": "vip"}, "tags must be an array"},
		{"remove-tags/missing", "DELETE", "/contacts/" + c + "/tags", jsonObj{}, "tags should not be empty"},
		{"add-followers/missing", "POST", "/contacts/" + c + "/followers", jsonObj{}, "followers should not be empty"},
		{"add-followers/type", "POST", "/contacts/" + c + "/followers", jsonObj{"followers": "user-1"}, "followers must be an array"},
		{"remove-followers/item type", "DELETE", "/contacts/" + c + "/followers", jsonObj{"followers": []any{1}}, "followers.0"},
		{"add-contact-to-campaign/body type", "POST", "/contacts/" + c + "/campaigns/camp-1", []string{}, "object"},
		{"add-contact-to-workflow/eventStartTime", "POST", "/contacts/" + c + "/workflow/wf-1", jsonObj{"eventStartTime": "soon"}, "eventStartTime"},
		{"delete-contact-from-workflow/eventStartTime type", "DELETE", "/contacts/" + c + "/workflow/wf-1", jsonObj{"eventStartTime": 5}, "eventStartTime"},
		{"remove-tags/empty tag", "DELETE", "/contacts/" + c + "/tags", jsonObj{"tags": []string{""}}, "tags.0"},
		{"create-appointment/startTime type", "POST", "/calendars/events/appointments", jsonObj{"calendarId": cal,
			"locationId": loc, "contactId": c, "startTime": 5}, "startTime must be a string"},
		{"create-appointment/no calendarId", "POST", "/calendars/events/appointments", jsonObj{
			"locationId": loc, "contactId": c, "startTime": "2024-03-05T10:00:00Z"}, "calendarId should not be empty"},
		{"create-appointment/no contactId", "POST", "/calendars/events/appointments", jsonObj{"calendarId": cal,
			"locationId": loc, "startTime": "2024-03-05T10:00:00Z"}, "contactId should not be empty"},
		{"edit-appointment/status", "PUT", "/calendars/events/appointments/" + ap, jsonObj{"appointmentStatus": "maybe"}, "appointmentStatus"},
		{"edit-appointment/startTime", "PUT", "/calendars/events/appointments/" + ap, jsonObj{"startTime": "soon"}, "startTime"},
		{"get-calendar-events/startTime", "GET", "/calendars/events?locationId=" + loc + "&calendarId=" + cal +
			"&startTime=yesterday&endTime=1", nil, "startTime"},
		{"get-calendar-events/no endTime", "GET", "/calendars/events?locationId=" + loc + "&calendarId=" + cal + "&startTime=1", nil, "endTime"},
		{"get-calendar-events/no locationId", "GET", "/calendars/events?calendarId=" + cal + "&startTime=1&endTime=2", nil, "locationId"},
		{"get-appointment-notes/no limit", "GET", apNotes + "?offset=0", nil, "limit"},
		{"get-appointment-notes/limit 21", "GET", apNotes + "?limit=21&offset=0", nil, "limit"},
		{"get-appointment-notes/offset", "GET", apNotes + "?limit=5&offset=-1", nil, "offset"},
		{"create-appointment-note/no body", "POST", apNotes, jsonObj{"userId": "u"}, "body should not be empty"},
		{"create-appointment-note/body too long", "POST", apNotes, jsonObj{"body": strings.Repeat("a", 5001)}, "body"},
		{"update-appointment-note/body type", "PUT", apNotes + "/" + fx.appointmentNote.ID, jsonObj{"body": 5}, "body must be a string"},
		{"create-association/no contacts", "POST", "/contacts/bulk/tags/update/add", jsonObj{"locationId": loc, "tags": []string{"x"}}, "contacts should not be empty"},
		{"create-association/tags type", "POST", "/contacts/bulk/tags/update/remove", jsonObj{"locationId": loc, "contacts": []string{c}, "tags": "x"}, "tags must be an array"},
		{"create-association/removeAllTags with add", "POST", "/contacts/bulk/tags/update/add", jsonObj{"locationId": loc,
			"contacts": []string{c}, "tags": []string{}, "removeAllTags": true}, "removeAllTags"},
		{"add-remove-contact-from-business/no ids", "POST", "/contacts/bulk/business", jsonObj{"locationId": loc, "businessId": "b"}, "ids should not be empty"},
		{"add-remove-contact-from-business/businessId type", "POST", "/contacts/bulk/business", jsonObj{"locationId": loc, "ids": []string{c}, "businessId": 5}, "businessId"},
		{"create-custom-field/no dataType", "POST", "/locations/" + loc + "/customFields", jsonObj{"name": "x"}, "dataType should not be empty"},
		{"create-custom-field/dataType", "POST", "/locations/" + loc + "/customFields", jsonObj{"name": "x", "dataType": "COLOUR"}, "dataType"},
		{"create-custom-field/model", "POST", "/locations/" + loc + "/customFields", jsonObj{"name": "x", "dataType": "TEXT", "model": "deal"}, "model"},
		{"update-custom-field/no name", "PUT", "/locations/" + loc + "/customFields/" + e.loc.CustomFields[0].ID, jsonObj{"position": 1}, "name should not be empty"},
		{"get-custom-fields/model", "GET", "/locations/" + loc + "/customFields?model=deal", nil, "model"},
		{"create-tag/name type", "POST", "/locations/" + loc + "/tags", jsonObj{"name": 5}, "name must be a string"},
		{"update-tag/no name", "PUT", "/locations/" + loc + "/tags/NoSuchTag00000000000", jsonObj{}, "name should not be empty"},
		{"create-contact-appointment/no startTime", "POST", "/contacts/" + c + "/appointments", jsonObj{"calendarId": cal}, "startTime should not be empty"},
		{"create-contact-appointment/type", "POST", "/contacts/" + c + "/appointments", jsonObj{"calendarId": cal,
			"startTime": "2024-03-05T10:00:00Z", "toNotify": "yes"}, "toNotify must be a boolean"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustError(t, e.do(t, tt.method, tt.path, tt.body), http.StatusUnprocessableEntity, tt.want)
		})
	}
	// Nothing above changed the fixture.
	got := mustDo[wireContactEnvelope](t, e, "GET", "/contacts/"+c, nil, http.StatusOK).Contact
	if got.DateUpdated != fx.contact.DateUpdated || len(got.Tags) != 0 {
		t.Errorf("contact changed by rejected requests: %+v", got)
	}
}

// TestOperations_NotFound sends every operation that declares a 404 an
// unknown id: the contact's, or a child's of a known contact.
func TestOperations_NotFound(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	fx := mustFixture(t, e)
	other := e.mustCreateContact(t, jsonObj{"firstName": "Other"})
	otherTask := e.mustCreateTask(t, other.ID, "not yours")
	otherNote := e.mustCreateNote(t, other.ID, "not yours")
	const unknown = "UnknownId00000000000"
	c, tk, n := fx.contact.ID, fx.task.ID, fx.note.ID
	cal := e.loc.Calendars[0].ID
	tests := []struct {
		name, method, path string
		body               any
		want               string // the whole body when it starts with {, else the message
	}{
		{"get-contact", "GET", "/contacts/" + unknown, nil, contactNotFound},
		{"update-contact", "PUT", "/contacts/" + unknown, jsonObj{"firstName": "x"}, contactNotFound},
		{"delete-contact", "DELETE", "/contacts/" + unknown, nil, contactNotFound},
		{"get-all-tasks", "GET", "/contacts/" + unknown + "/tasks", nil, contactNotFound},
		{"create-task", "POST", "/contacts/" + unknown + "/tasks", jsonObj{"title": "t", "dueDate": "2024-03-08T10:00:00Z", "completed": false}, contactNotFound},
		{"get-task/unknown contact", "GET", "/contacts/" + unknown + "/tasks/" + tk, nil, contactNotFound},
		{"get-task", "GET", "/contacts/" + c + "/tasks/" + unknown, nil, "Task not found"},
		{"get-task/other contact's", "GET", "/contacts/" + c + "/tasks/" + otherTask.ID, nil, "Task not found"},
		{"update-task", "PUT", "/contacts/" + c + "/tasks/" + unknown, jsonObj{"title": "x"}, "Task not found"},
		{"update-task/unknown contact", "PUT", "/contacts/" + unknown + "/tasks/" + tk, jsonObj{"title": "x"}, contactNotFound},
		{"update-task-completed", "PUT", "/contacts/" + c + "/tasks/" + unknown + "/completed", jsonObj{"completed": true}, "Task not found"},
		{"update-task-completed/unknown contact", "PUT", "/contacts/" + unknown + "/tasks/" + tk + "/completed", jsonObj{"completed": true}, contactNotFound},
		{"delete-task", "DELETE", "/contacts/" + c + "/tasks/" + unknown, nil, "Task not found"},
		{"delete-task/other contact's", "DELETE", "/contacts/" + c + "/tasks/" + otherTask.ID, nil, "Task not found"},
		{"delete-task/unknown contact", "DELETE", "/contacts/" + unknown + "/tasks/" + tk, nil, contactNotFound},
		{"get-all-notes", "GET", "/contacts/" + unknown + "/notes", nil, contactNotFound},
		{"create-note", "POST", "/contacts/" + unknown + "/notes", jsonObj{"body": "b"}, contactNotFound},
		{"get-note", "GET", "/contacts/" + c + "/notes/" + unknown, nil, "Note not found"},
		{"get-note/other contact's", "GET", "/contacts/" + c + "/notes/" + otherNote.ID, nil, "Note not found"},
		{"get-note/unknown contact", "GET", "/contacts/" + unknown + "/notes/" + n, nil, contactNotFound},
		{"update-note", "PUT", "/contacts/" + c + "/notes/" + unknown, jsonObj{"body": "b"}, "Note not found"},
		{"update-note/unknown contact", "PUT", "/contacts/" + unknown + "/notes/" + n, jsonObj{"body": "b"}, contactNotFound},
		{"delete-note", "DELETE", "/contacts/" + c + "/notes/" + unknown, nil, "Note not found"},
		{"delete-note/unknown contact", "DELETE", "/contacts/" + unknown + "/notes/" + n, nil, contactNotFound},
		{"add-tags", "POST", "/contacts/" + unknown + "/tags", jsonObj{"tags": []string{"a"}}, contactNotFound},
		{"remove-tags", "DELETE", "/contacts/" + unknown + "/tags", jsonObj{"tags": []string{"a"}}, contactNotFound},
		{"add-followers-contact", "POST", "/contacts/" + unknown + "/followers", jsonObj{"followers": []string{"u"}}, contactNotFound},
		{"remove-followers-contact", "DELETE", "/contacts/" + unknown + "/followers", jsonObj{"followers": []string{"u"}}, contactNotFound},
		{"add-contact-to-campaign", "POST", "/contacts/" + unknown + "/campaigns/camp-1", jsonObj{}, contactNotFound},
		{"remove-contact-from-campaign", "DELETE", "/contacts/" + unknown + "/campaigns/camp-1", nil, contactNotFound},
		{"remove-contact-from-every-campaign", "DELETE", "/contacts/" + unknown + "/campaigns/removeAll", nil, contactNotFound},
		{"add-contact-to-workflow", "POST", "/contacts/" + unknown + "/workflow/wf-1", jsonObj{}, contactNotFound},
		{"delete-contact-from-workflow", "DELETE", "/contacts/" + unknown + "/workflow/wf-1", jsonObj{}, contactNotFound},
		{"get-appointments-for-contact", "GET", "/contacts/" + unknown + "/appointments", nil, contactNotFound},
		{"create-contact-appointment", "POST", "/contacts/" + unknown + "/appointments", jsonObj{"calendarId": cal, "startTime": "2024-03-05T10:00:00Z"}, contactNotFound},
		{"create-appointment", "POST", "/calendars/events/appointments", jsonObj{"calendarId": cal, "locationId": e.loc.ID,
			"contactId": unknown, "startTime": "2024-03-05T10:00:00Z"}, contactNotFound},
		{"edit-appointment", "PUT", "/calendars/events/appointments/" + unknown, jsonObj{"title": "x"}, "Appointment not found"},
		{"get-appointment", "GET", "/calendars/events/appointments/" + unknown, nil, "Appointment not found"},
		{"delete-event", "DELETE", "/calendars/events/" + unknown, jsonObj{}, "Appointment not found"},
		{"get-custom-field", "GET", "/locations/" + e.loc.ID + "/customFields/" + unknown, nil, "Custom field not found"},
		{"update-custom-field", "PUT", "/locations/" + e.loc.ID + "/customFields/" + unknown, jsonObj{"name": "x"}, "Custom field not found"},
		{"delete-custom-field", "DELETE", "/locations/" + e.loc.ID + "/customFields/" + unknown, nil, "Custom field not found"},
		{"get-tag-by-id", "GET", "/locations/" + e.loc.ID + "/tags/" + unknown, nil, "Tag not found"},
		{"update-tag", "PUT", "/locations/" + e.loc.ID + "/tags/" + unknown, jsonObj{"name": "x"}, "Tag not found"},
		{"delete-tag", "DELETE", "/locations/" + e.loc.ID + "/tags/" + unknown, nil, "Tag not found"},
		{"get-appointment-notes", "GET", "/calendars/appointments/" + unknown + "/notes?limit=5&offset=0", nil, "Appointment not found"},
		{"create-appointment-note", "POST", "/calendars/appointments/" + unknown + "/notes", jsonObj{"body": "b"}, "Appointment not found"},
		{"update-appointment-note", "PUT", "/calendars/appointments/" + fx.appointment.ID + "/notes/" + unknown, jsonObj{"body": "b"}, "Note not found"},
		{"update-appointment-note/unknown appointment", "PUT", "/calendars/appointments/" + unknown + "/notes/" + fx.appointmentNote.ID, jsonObj{"body": "b"}, "Appointment not found"},
		{"delete-appointment-note", "DELETE", "/calendars/appointments/" + fx.appointment.ID + "/notes/" + unknown, nil, "Note not found"},
		{"delete-appointment-note/unknown appointment", "DELETE", "/calendars/appointments/" + unknown + "/notes/" + fx.appointmentNote.ID, nil, "Appointment not found"},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, tt.method, tt.path, tt.body)
			if strings.HasPrefix(tt.want, "{") {
				mustStatus(t, r, http.StatusNotFound)
				if string(r.body) != tt.want {
					t.Errorf("body %s, want %s", r.body, tt.want)
				}
			} else {
				mustError(t, r, http.StatusNotFound, tt.want)
			}
		})
		req, _ := http.NewRequest(tt.method, e.srv.HighLevel.URL()+tt.path, nil)
		route, err := suiteSpec.FindRoute(req)
		if err != nil {
			t.Fatalf("%s %s: no route: %v", tt.method, tt.path, err)
		}
		covered[route.Operation.ID] = true
	}
	// The table covers every operation that declares a 404.
	for _, op := range suiteSpec.Operations() {
		if op.Spec.Responses.Value("404") != nil && !covered[op.ID] {
			t.Errorf("operation %s declares 404 but the table does not test it", op.ID)
		}
	}
}

// TestRouting_UnknownRoute answers unknown paths and methods as NestJS does.
func TestRouting_UnknownRoute(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	for _, tt := range []struct{ method, path string }{
		{"GET", "/nope"},
		{"POST", "/contacts/abc/unknown"},
		{"PATCH", "/contacts/abc"},
	} {
		r := e.do(t, tt.method, tt.path, nil)
		want := fmt.Sprintf(`{"statusCode":404,"message":"Cannot %s %s","error":"Not Found"}`, tt.method, tt.path)
		if r.status != http.StatusNotFound || string(r.body) != want {
			t.Errorf("%s %s: %s, want 404 %s", tt.method, tt.path, r, want)
		}
	}
}

func TestContacts_CreateGetUpdateDelete(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	lead, plan := e.loc.CustomFields[0], e.loc.CustomFields[1]
	if lead.Key != "contact.lead_score" || plan.Key != "contact.plan" {
		t.Fatalf("default location custom fields: %+v", e.loc.CustomFields)
	}
	created := e.mustCreateContact(t, jsonObj{
		"name": "Ann Lee", "email": "Ann.Lee@Example.com", "phone": "(555) 010-0001", "companyName": "Acme",
		"dateOfBirth": "09/25/1990", "source": "public api",
		"customFields": []jsonObj{{"key": "contact.lead_score", "field_value": 42}, {"id": plan.ID, "field_value": "pro"}},
	})
	if !idPattern.MatchString(created.ID) || !isoPattern.MatchString(created.DateAdded) || created.DateAdded != created.DateUpdated {
		t.Errorf("id %q dateAdded %q dateUpdated %q", created.ID, created.DateAdded, created.DateUpdated)
	}
	if created.DateAdded != "2024-03-01T09:30:00.000Z" {
		t.Errorf("dateAdded %s, want the clock's time", created.DateAdded)
	}
	if created.FirstName != "Ann" || created.LastName != "Lee" || created.Phone != "+15550100001" || created.LocationID != e.loc.ID {
		t.Errorf("created %+v", created)
	}
	if created.DateOfBirth != "1990-09-25T00:00:00.000Z" || created.BirthMonth == nil || *created.BirthMonth != 8 ||
		created.BirthDay == nil || *created.BirthDay != 25 {
		t.Errorf("birth date %q month %v day %v", created.DateOfBirth, created.BirthMonth, created.BirthDay)
	}
	wantFields := []wireCustomField{{ID: lead.ID, Value: 42.0}, {ID: plan.ID, Value: "pro"}}
	if !reflect.DeepEqual(created.CustomFields, wantFields) {
		t.Errorf("customFields %+v, want %+v", created.CustomFields, wantFields)
	}

	r := e.call(t, apiRequest{method: "POST", path: "/contacts/", contentType: "application/json; charset=utf-8",
		body: jsonObj{"locationId": e.loc.ID, "firstName": "Charset"}})
	mustStatus(t, r, http.StatusCreated)

	// GET answers as the create did, but for dateOfBirth: YYYY-MM-DD
	// there, an ISO time in the create's answer (as the vendor documents
	// each).
	got := mustDo[wireContactEnvelope](t, e, "GET", "/contacts/"+created.ID, nil, http.StatusOK).Contact
	if got.DateOfBirth != "1990-09-25" {
		t.Errorf("GET dateOfBirth %q, want 1990-09-25", got.DateOfBirth)
	}
	got.DateOfBirth = created.DateOfBirth
	if !equalJSON(t, got, created) {
		t.Errorf("GET %+v\nwant %+v", got, created)
	}

	e.clk.Advance(90 * time.Second)
	type updated struct {
		Succeded bool        `json:"succeded"`
		Contact  wireContact `json:"contact"`
	}
	up := mustDo[updated](t, e, "PUT", "/contacts/"+created.ID, jsonObj{
		"lastName": "Smith", "companyName": nil, "customFields": []jsonObj{{"key": "contact.lead_score", "field_value": nil}},
	}, http.StatusOK)
	if !up.Succeded {
		t.Error("update: succeded is not true")
	}
	u := up.Contact
	if u.FirstName != "Ann" || u.LastName != "Smith" || u.Name != "Ann Smith" || u.CompanyName != "" ||
		u.Email != created.Email || u.Phone != created.Phone {
		t.Errorf("updated %+v", u)
	}
	if !reflect.DeepEqual(u.CustomFields, []wireCustomField{{ID: plan.ID, Value: "pro"}}) || u.DateOfBirth != "1990-09-25" {
		t.Errorf("customFields after clearing lead score: %+v", u.CustomFields)
	}
	if u.DateAdded != created.DateAdded || u.DateUpdated != "2024-03-01T09:31:30.000Z" {
		t.Errorf("dateAdded %s dateUpdated %s", u.DateAdded, u.DateUpdated)
	}

	del := mustDo[wireDeleted](t, e, "DELETE", "/contacts/"+created.ID, nil, http.StatusOK)
	if del.Succeded == nil || !*del.Succeded {
		t.Errorf("delete body: want {\"succeded\": true}")
	}
	r = e.do(t, "GET", "/contacts/"+created.ID, nil)
	if r.status != http.StatusNotFound || string(r.body) != contactNotFound {
		t.Errorf("GET after delete: %s", r)
	}
	mustError(t, e.do(t, "DELETE", "/contacts/"+created.ID, nil), http.StatusNotFound, "Contact not found")
}

func equalJSON(tb testing.TB, a, b any) bool {
	tb.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		tb.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		tb.Fatal(err)
	}
	return string(ja) == string(jb)
}

func TestContacts_Tags(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	c := e.mustCreateContact(t, jsonObj{"firstName": "Tess", "tags": []string{"VIP", " vip ", "Lead"}})
	if !slices.Equal(c.Tags, []string{"vip", "lead"}) {
		t.Fatalf("created tags %q, want [vip lead]", c.Tags)
	}
	type tagsBody struct {
		Tags []string `json:"tags"`
	}
	steps := []struct {
		name, method, path string
		body               any
		status             int
		want               []string
	}{
		{"add lower-cases and deduplicates", "POST", "/tags", jsonObj{"tags": []string{"NEW", "Vip", "new"}}, http.StatusCreated, []string{"vip", "lead", "new"}},
		{"remove is case-insensitive", "DELETE", "/tags", jsonObj{"tags": []string{"LEAD", "absent"}}, http.StatusOK, []string{"vip", "new"}},
		{"update without tags keeps them", "PUT", "", jsonObj{"city": "Paris"}, http.StatusOK, []string{"vip", "new"}},
		{"update with tags replaces them", "PUT", "", jsonObj{"tags": []string{"Replaced", "REPLACED"}}, http.StatusOK, []string{"replaced"}},
		{"update with no tags clears them", "PUT", "", jsonObj{"tags": []string{}}, http.StatusOK, []string{}},
		{"add to none", "POST", "/tags", jsonObj{"tags": []string{"b", "a"}}, http.StatusCreated, []string{"b", "a"}},
	}
	for _, s := range steps {
		r := e.do(t, s.method, "/contacts/"+c.ID+s.path, s.body)
		mustStatus(t, r, s.status)
		var got []string
		if s.path == "" {
			got = mustDecode[wireContactEnvelope](t, r).Contact.Tags
		} else {
			got = mustDecode[tagsBody](t, r).Tags
		}
		if !slices.Equal(got, s.want) {
			t.Errorf("%s: tags %q, want %q", s.name, got, s.want)
		}
		stored := mustDo[wireContactEnvelope](t, e, "GET", "/contacts/"+c.ID, nil, http.StatusOK).Contact.Tags
		if !slices.Equal(stored, s.want) {
			t.Errorf("%s: GET tags %q, want %q", s.name, stored, s.want)
		}
	}
}

func TestContacts_DeleteCascades(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	fx := mustFixture(t, e)
	keep := mustFixture(t, e)
	mustDo[wireDeleted](t, e, "DELETE", "/contacts/"+fx.contact.ID, nil, http.StatusOK)
	c := fx.contact.ID
	for _, path := range []string{
		"/contacts/" + c + "/tasks", "/contacts/" + c + "/tasks/" + fx.task.ID,
		"/contacts/" + c + "/notes", "/contacts/" + c + "/notes/" + fx.note.ID,
		"/contacts/" + c + "/appointments",
	} {
		r := e.do(t, "GET", path, nil)
		if r.status != http.StatusNotFound || string(r.body) != contactNotFound {
			t.Errorf("GET %s after delete: %s", path, r)
		}
	}
	mustError(t, e.do(t, "PUT", "/calendars/events/appointments/"+fx.appointment.ID, jsonObj{"title": "x"}),
		http.StatusNotFound, "Appointment not found")
	// The other contact's records are untouched.
	k := keep.contact.ID
	mustDo[struct{ Task wireTask }](t, e, "GET", "/contacts/"+k+"/tasks/"+keep.task.ID, nil, http.StatusOK)
	mustDo[struct{ Note wireNote }](t, e, "GET", "/contacts/"+k+"/notes/"+keep.note.ID, nil, http.StatusOK)
	evs := mustDo[struct{ Events []wireEvent }](t, e, "GET", "/contacts/"+k+"/appointments", nil, http.StatusOK)
	if len(evs.Events) != 1 || evs.Events[0].ID != keep.appointment.ID {
		t.Errorf("other contact's appointments: %+v", evs.Events)
	}
	list := mustDo[wireContactsList](t, e, "GET", "/contacts/?locationId="+e.loc.ID, nil, http.StatusOK)
	if list.Count != 1 || len(list.Contacts) != 1 || list.Contacts[0].ID != k {
		t.Errorf("list after delete: count %d, %d contacts", list.Count, len(list.Contacts))
	}
}

// TestContacts_Upsert checks matching by email then phone, or phone first
// when the location says so, and createNewIfDuplicateAllowed.
func TestContacts_Upsert(t *testing.T) {
	t.Parallel()
	type step struct {
		body    jsonObj
		wantNew bool
		wantID  string // "a", "b", or "" for a new contact
	}
	tests := []struct {
		name  string
		allow bool
		order []string
		steps []step
	}{
		{"no match creates", false, nil, []step{
			{jsonObj{"email": "new@x.com"}, true, ""},
			{jsonObj{"email": "NEW@x.com", "firstName": "Again"}, false, "new"},
		}},
		{"matches email", false, nil, []step{{jsonObj{"email": "A@x.com", "firstName": "Upd"}, false, "a"}}},
		{"matches normalised phone", false, nil, []step{{jsonObj{"phone": "555-000-0002"}, false, "b"}}},
		{"email first by default", false, nil, []step{{jsonObj{"email": "a@x.com", "phone": "+15550000002"}, false, "a"}}},
		{"email first when configured", false, []string{"email", "phone"}, []step{{jsonObj{"email": "a@x.com", "phone": "+15550000002"}, false, "a"}}},
		{"phone first when configured", false, []string{"phone", "email"}, []step{{jsonObj{"email": "a@x.com", "phone": "+15550000002"}, false, "b"}}},
		{"phone first falls back to email", false, []string{"phone", "email"}, []step{{jsonObj{"email": "a@x.com", "phone": "+15559999999"}, false, "a"}}},
		{"duplicates allowed without flag updates", true, nil, []step{{jsonObj{"email": "a@x.com"}, false, "a"}}},
		{"duplicates allowed with flag creates", true, nil, []step{
			{jsonObj{"email": "a@x.com", "createNewIfDuplicateAllowed": true}, true, ""},
			{jsonObj{"email": "a@x.com", "createNewIfDuplicateAllowed": true}, true, ""},
		}},
		{"flag ignored when duplicates are forbidden", false, nil, []step{
			{jsonObj{"email": "a@x.com", "createNewIfDuplicateAllowed": true}, false, "a"},
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newTwin(t)
			locID := fmt.Sprintf("UpsertLocation%06d", i)
			_, token := e.addLocation(t, locID, tt.allow, tt.order...)
			create := func(fields jsonObj) wireContact {
				fields["locationId"] = locID
				r := e.call(t, apiRequest{method: "POST", path: "/contacts/", body: fields, token: token})
				mustStatus(t, r, http.StatusCreated)
				return mustDecode[wireContactEnvelope](t, r).Contact
			}
			ids := map[string]string{
				"a": create(jsonObj{"email": "a@x.com", "phone": "+15550000001"}).ID,
				"b": create(jsonObj{"email": "b@x.com", "phone": "+15550000002"}).ID,
			}
			seenTrace := map[string]bool{}
			for _, s := range tt.steps {
				s.body["locationId"] = locID
				r := e.call(t, apiRequest{method: "POST", path: "/contacts/upsert", body: s.body, token: token})
				mustStatus(t, r, http.StatusOK)
				got := mustDecode[wireUpsert](t, r)
				if got.New != s.wantNew {
					t.Errorf("%v: new %v, want %v", s.body, got.New, s.wantNew)
				}
				switch want := ids[s.wantID]; {
				case s.wantID == "":
					if slices.Contains(mapValues(ids), got.Contact.ID) {
						t.Errorf("%v: updated %s, want a new contact", s.body, got.Contact.ID)
					}
					if ids["new"] == "" {
						ids["new"] = got.Contact.ID
					} else {
						ids[got.Contact.ID] = got.Contact.ID
					}
				case got.Contact.ID != want:
					t.Errorf("%v: upserted %s, want %s (%s)", s.body, got.Contact.ID, s.wantID, want)
				}
				if !uuidPattern.MatchString(got.TraceID) || seenTrace[got.TraceID] {
					t.Errorf("traceId %q: want a fresh uuid", got.TraceID)
				}
				seenTrace[got.TraceID] = true
			}
			if tt.allow {
				return
			}
			// A location that forbids duplicates never holds two contacts with
			// the same email or phone.
			mustNoDuplicates(t, e, locID, token)
		})
	}
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// TestContacts_UpsertIgnoresSecondField checks the spec's rule for an email
// and a phone that match two different contacts: the first field in the
// order wins and the second is ignored.
func TestContacts_UpsertIgnoresSecondField(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	a := e.mustCreateContact(t, jsonObj{"email": "a@x.com", "phone": "+15550000001"})
	b := e.mustCreateContact(t, jsonObj{"email": "b@x.com", "phone": "+15550000002"})
	got := mustDo[wireUpsert](t, e, "POST", "/contacts/upsert", jsonObj{
		"locationId": e.loc.ID, "email": "a@x.com", "phone": "+15550000002", "firstName": "Winner",
	}, http.StatusOK)
	if got.New || got.Contact.ID != a.ID || got.Contact.FirstName != "Winner" {
		t.Errorf("upsert: new %v id %s first name %q, want contact a %s updated", got.New, got.Contact.ID, got.Contact.FirstName, a.ID)
	}
	if got.Contact.Phone != a.Phone {
		t.Errorf("phone %s: the second field should be ignored, keeping %s", got.Contact.Phone, a.Phone)
	}
	bAfter := mustDo[wireContactEnvelope](t, e, "GET", "/contacts/"+b.ID, nil, http.StatusOK).Contact
	if !equalJSON(t, bAfter, b) {
		t.Errorf("contact b changed: %+v", bAfter)
	}
	mustNoDuplicates(t, e, e.loc.ID, e.token)
}

// mustNoDuplicates lists a location's contacts and fails when two share an
// email (case-insensitively) or a phone.
func mustNoDuplicates(tb testing.TB, e *twinEnv, locID, token string) []wireContact {
	tb.Helper()
	all := mustListAll(tb, e, locID, token)
	emails, phones := map[string]string{}, map[string]string{}
	for _, c := range all {
		if k := strings.ToLower(c.Email); k != "" {
			if prev, dup := emails[k]; dup {
				tb.Errorf("contacts %s and %s share email %s", prev, c.ID, k)
			}
			emails[k] = c.ID
		}
		if c.Phone != "" {
			if prev, dup := phones[c.Phone]; dup {
				tb.Errorf("contacts %s and %s share phone %s", prev, c.ID, c.Phone)
			}
			phones[c.Phone] = c.ID
		}
	}
	return all
}

// mustListAll pages through a location's contacts with the meta cursor.
func mustListAll(tb testing.TB, e *twinEnv, locID, token string) []wireContact {
	tb.Helper()
	var all []wireContact
	next := "/contacts/?limit=100&locationId=" + locID
	for pages := 0; next != ""; pages++ {
		if pages > 1000 {
			tb.Fatal("paging does not end")
		}
		r := e.call(tb, apiRequest{method: "GET", path: next, token: token})
		mustStatus(tb, r, http.StatusOK)
		page := mustDecode[wireContactsList](tb, r)
		all = append(all, page.Contacts...)
		next = ""
		if page.Meta.NextPageURL != nil {
			next = *page.Meta.NextPageURL
		}
	}
	return all
}

func TestContacts_DuplicateOnCreate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		allow        bool
		first, again jsonObj
		field        string // matchingField of the 400, "" when allowed
	}{
		{"same email", false, jsonObj{"email": "dup@x.com"}, jsonObj{"email": "dup@x.com"}, "email"},
		{"email differs in case", false, jsonObj{"email": "Dup@X.com"}, jsonObj{"email": "dup@x.COM"}, "email"},
		{"normalised phone", false, jsonObj{"phone": "+1 888-888-8888"}, jsonObj{"phone": "8888888888"}, "phone"},
		{"phone with punctuation", false, jsonObj{"phone": "8888888888"}, jsonObj{"phone": "(888) 888.8888"}, "phone"},
		{"email and phone", false, jsonObj{"email": "d@x.com", "phone": "+15550000009"}, jsonObj{"email": "d@x.com", "phone": "+15550000009"}, "email"},
		{"different contacts", false, jsonObj{"email": "one@x.com", "phone": "+15550000001"}, jsonObj{"email": "two@x.com", "phone": "+15550000002"}, ""},
		{"allowed email", true, jsonObj{"email": "dup@x.com"}, jsonObj{"email": "dup@x.com"}, ""},
		{"allowed phone", true, jsonObj{"phone": "+1 888-888-8888"}, jsonObj{"phone": "8888888888"}, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newTwin(t)
			locID := fmt.Sprintf("DuplicateLocation%03d", i)
			_, token := e.addLocation(t, locID, tt.allow)
			post := func(fields jsonObj) apiResponse {
				fields["locationId"] = locID
				return e.call(t, apiRequest{method: "POST", path: "/contacts/", body: fields, token: token})
			}
			r := post(tt.first)
			mustStatus(t, r, http.StatusCreated)
			first := mustDecode[wireContactEnvelope](t, r).Contact
			r = post(tt.again)
			if tt.field == "" {
				mustStatus(t, r, http.StatusCreated)
				if second := mustDecode[wireContactEnvelope](t, r).Contact; second.ID == first.ID {
					t.Errorf("second create returned the first contact")
				}
				return
			}
			body := mustError(t, r, http.StatusBadRequest, "This location does not allow duplicated contacts.")
			if body.Meta["contactId"] != first.ID || body.Meta["matchingField"] != tt.field {
				t.Errorf("meta %v, want contactId %s matchingField %s", body.Meta, first.ID, tt.field)
			}
			if all := mustListAll(t, e, locID, token); len(all) != 1 {
				t.Errorf("location has %d contacts after a rejected duplicate", len(all))
			}
		})
	}
}

func TestContacts_DuplicateOnUpdate(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	a := e.mustCreateContact(t, jsonObj{"email": "a@x.com", "phone": "+15550000001"})
	b := e.mustCreateContact(t, jsonObj{"email": "b@x.com"})
	body := mustError(t, e.do(t, "PUT", "/contacts/"+b.ID, jsonObj{"phone": "555 000 0001"}), http.StatusBadRequest,
		"This location does not allow duplicated contacts.")
	if body.Meta["contactId"] != a.ID {
		t.Errorf("meta %v, want contactId %s", body.Meta, a.ID)
	}
	// A contact may keep, or re-send, its own email.
	mustDo[wireContactEnvelope](t, e, "PUT", "/contacts/"+a.ID, jsonObj{"email": "A@x.com"}, http.StatusOK)
}

func TestContacts_DuplicateSearch(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	_, phoneFirstToken := e.addLocation(t, "PhoneFirstLocation00", false, "phone", "email")
	create := func(locID, token string, fields jsonObj) wireContact {
		fields["locationId"] = locID
		r := e.call(t, apiRequest{method: "POST", path: "/contacts/", body: fields, token: token})
		mustStatus(t, r, http.StatusCreated)
		return mustDecode[wireContactEnvelope](t, r).Contact
	}
	a := create(e.loc.ID, e.token, jsonObj{"email": "ann+tag@x.com", "phone": "+15550000001"})
	b := create(e.loc.ID, e.token, jsonObj{"email": "bob@x.com", "phone": "+15550000002"})
	pa := create("PhoneFirstLocation00", phoneFirstToken, jsonObj{"email": "ann@x.com", "phone": "+15550000001"})
	pb := create("PhoneFirstLocation00", phoneFirstToken, jsonObj{"email": "bob@x.com", "phone": "+15550000002"})
	tests := []struct {
		name, locID, token string
		query              url.Values
		want               string // contact id, "" for null
	}{
		{"by email", e.loc.ID, e.token, url.Values{"email": {"ann+tag@x.com"}}, a.ID},
		{"by email, any case", e.loc.ID, e.token, url.Values{"email": {"BOB@X.COM"}}, b.ID},
		{"by number", e.loc.ID, e.token, url.Values{"number": {"+15550000002"}}, b.ID},
		{"by national number", e.loc.ID, e.token, url.Values{"number": {"555-000-0001"}}, a.ID},
		{"email first", e.loc.ID, e.token, url.Values{"email": {"ann+tag@x.com"}, "number": {"+15550000002"}}, a.ID},
		{"phone first", "PhoneFirstLocation00", phoneFirstToken, url.Values{"email": {"ann@x.com"}, "number": {"+15550000002"}}, pb.ID},
		{"phone first, email fallback", "PhoneFirstLocation00", phoneFirstToken, url.Values{"email": {"ann@x.com"}, "number": {"+15559999999"}}, pa.ID},
		{"none", e.loc.ID, e.token, url.Values{"email": {"nobody@x.com"}}, ""},
		{"nothing asked", e.loc.ID, e.token, url.Values{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.query.Set("locationId", tt.locID)
			r := e.call(t, apiRequest{method: "GET", path: "/contacts/search/duplicate?" + tt.query.Encode(), token: tt.token})
			mustStatus(t, r, http.StatusOK)
			got := mustDecode[struct {
				Contact *wireContact `json:"contact"`
			}](t, r)
			switch {
			case tt.want == "" && got.Contact != nil:
				t.Errorf("got contact %s, want null", got.Contact.ID)
			case tt.want != "" && (got.Contact == nil || got.Contact.ID != tt.want):
				t.Errorf("got %s, want contact %s", r.body, tt.want)
			}
		})
	}
	if !strings.Contains(string(e.do(t, "GET", "/contacts/search/duplicate?locationId="+e.loc.ID+"&email=nobody%40x.com", nil).body), `"contact":null`) {
		t.Error(`no duplicate is not answered {"contact":null}`)
	}
}

// mustCreateMany creates n contacts in the default location, moving the
// clock on by step between contacts, and returns them oldest first.
func mustCreateMany(tb testing.TB, e *twinEnv, n int, step time.Duration, fields func(i int) jsonObj) []wireContact {
	tb.Helper()
	out := make([]wireContact, 0, n)
	for i := range n {
		f := jsonObj{}
		if fields != nil {
			f = fields(i)
		}
		out = append(out, e.mustCreateContact(tb, f))
		e.clk.Advance(step)
	}
	return out
}

func TestContacts_PagingWithCursors(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	// Some contacts share the clock's millisecond; the store still orders them.
	created := mustCreateMany(t, e, 250, 0, func(i int) jsonObj {
		if i%7 == 0 {
			e.clk.Advance(time.Second)
		}
		return jsonObj{"firstName": fmt.Sprintf("P%03d", i)}
	})
	want := slices.Clone(created)
	slices.Reverse(want) // newest first

	var got []wireContact
	seenIDs := map[string]bool{}
	next := "/contacts/?locationId=" + e.loc.ID + "&limit=100"
	var sizes []int
	for page := 1; next != ""; page++ {
		if page > 10 {
			t.Fatal("paging does not end")
		}
		r := e.do(t, "GET", next, nil)
		mustStatus(t, r, http.StatusOK)
		list := mustDecode[wireContactsList](t, r)
		sizes = append(sizes, len(list.Contacts))
		if list.Count != 250 || list.Meta.Total != 250 || list.Meta.CurrentPage != page {
			t.Errorf("page %d: count %d total %d currentPage %d", page, list.Count, list.Meta.Total, list.Meta.CurrentPage)
		}
		if (page == 1) != (list.Meta.PrevPage == nil) || (list.Meta.PrevPage != nil && *list.Meta.PrevPage != page-1) {
			t.Errorf("page %d: prevPage %v", page, list.Meta.PrevPage)
		}
		for _, c := range list.Contacts {
			if seenIDs[c.ID] {
				t.Errorf("page %d repeats contact %s", page, c.ID)
			}
			seenIDs[c.ID] = true
		}
		got = append(got, list.Contacts...)
		next = ""
		if list.Meta.NextPageURL == nil {
			if list.Meta.StartAfterID != nil || list.Meta.StartAfter != nil || list.Meta.NextPage != nil {
				t.Errorf("last page has a cursor: %+v", list.Meta)
			}
			continue
		}
		last := list.Contacts[len(list.Contacts)-1]
		added, _ := time.Parse(time.RFC3339Nano, last.DateAdded)
		if list.Meta.StartAfterID == nil || *list.Meta.StartAfterID != last.ID ||
			list.Meta.StartAfter == nil || int64(*list.Meta.StartAfter) != added.UnixMilli() ||
			list.Meta.NextPage == nil || *list.Meta.NextPage != page+1 {
			t.Errorf("page %d: meta cursor %+v, want the last contact %s %s", page, list.Meta, last.ID, last.DateAdded)
		}
		// nextPageUrl is the same request as the cursor pair.
		u, err := url.Parse(*list.Meta.NextPageURL)
		if err != nil || u.Query().Get("startAfterId") != last.ID || u.Query().Get("startAfter") != strconv.FormatInt(added.UnixMilli(), 10) {
			t.Errorf("nextPageUrl %s", *list.Meta.NextPageURL)
		}
		next = *list.Meta.NextPageURL // used as-is
	}
	if !slices.Equal(sizes, []int{100, 100, 50}) {
		t.Errorf("page sizes %v, want [100 100 50]", sizes)
	}
	if len(got) != len(want) {
		t.Fatalf("paged %d contacts, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].ID != want[i].ID {
			t.Fatalf("contact %d is %s (%s), want %s (%s): not newest first", i, got[i].ID, got[i].DateAdded, want[i].ID, want[i].DateAdded)
		}
	}

	// Paging with the cursor pair built by hand gives the same pages.
	second := mustDo[wireContactsList](t, e, "GET", fmt.Sprintf("/contacts/?locationId=%s&limit=100&startAfter=%s&startAfterId=%s",
		e.loc.ID, millis(t, got[99].DateAdded), got[99].ID), nil, http.StatusOK)
	if len(second.Contacts) != 100 || second.Contacts[0].ID != got[100].ID || second.Contacts[99].ID != got[199].ID {
		t.Errorf("hand-built cursor page starts at %s", second.Contacts[0].ID)
	}
	// The default page size is 20.
	def := mustDo[wireContactsList](t, e, "GET", "/contacts/?locationId="+e.loc.ID, nil, http.StatusOK)
	if len(def.Contacts) != 20 || def.Contacts[0].ID != got[0].ID {
		t.Errorf("default page: %d contacts", len(def.Contacts))
	}
}

func millis(tb testing.TB, iso string) string {
	tb.Helper()
	ts, err := time.Parse(time.RFC3339Nano, iso)
	if err != nil {
		tb.Fatalf("parse %q: %v", iso, err)
	}
	return strconv.FormatInt(ts.UnixMilli(), 10)
}

func TestContacts_PagingWithOneCursorRestarts(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	created := mustCreateMany(t, e, 30, time.Second, nil)
	newest := created[len(created)-1]
	mid := created[10]
	for _, query := range []string{
		"startAfterId=" + mid.ID,
		"startAfter=" + millis(t, mid.DateAdded),
	} {
		list := mustDo[wireContactsList](t, e, "GET", "/contacts/?locationId="+e.loc.ID+"&limit=10&"+query, nil, http.StatusOK)
		if len(list.Contacts) != 10 || list.Contacts[0].ID != newest.ID || list.Meta.CurrentPage != 1 {
			t.Errorf("%s: got %d contacts from %s, want the first page", query, len(list.Contacts), list.Contacts[0].ID)
		}
	}
	both := mustDo[wireContactsList](t, e, "GET", "/contacts/?locationId="+e.loc.ID+"&limit=10&startAfter="+
		millis(t, mid.DateAdded)+"&startAfterId="+mid.ID, nil, http.StatusOK)
	if len(both.Contacts) != 10 || both.Contacts[0].ID != created[9].ID {
		t.Errorf("both cursors: page starts at %v, want %s", both.Contacts, created[9].ID)
	}
	if both.Meta.CurrentPage != 3 {
		t.Errorf("both cursors: currentPage %d, want 3", both.Meta.CurrentPage)
	}
}

func TestContacts_ListLimitAndQuery(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	mustCreateMany(t, e, 105, time.Millisecond, func(i int) jsonObj {
		if i%10 == 0 {
			return jsonObj{"firstName": "Zed", "companyName": fmt.Sprintf("Zebra %d", i)}
		}
		return jsonObj{"firstName": "Amy", "email": fmt.Sprintf("amy%d@x.com", i)}
	})
	tests := []struct {
		query      string
		status     int
		n, count   int
		hasNextURL bool
	}{
		{"limit=100", http.StatusOK, 100, 105, true},
		{"limit=1", http.StatusOK, 1, 105, true},
		{"limit=101", http.StatusUnprocessableEntity, 0, 0, false},
		{"limit=0", http.StatusUnprocessableEntity, 0, 0, false},
		{"query=zebra&limit=5", http.StatusOK, 5, 11, true},
		{"query=ZEBRA&limit=20", http.StatusOK, 11, 11, false},
		{"query=amy7%40x.com", http.StatusOK, 1, 1, false},
		{"query=nobody", http.StatusOK, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := e.do(t, "GET", "/contacts/?locationId="+e.loc.ID+"&"+tt.query, nil)
			if tt.status != http.StatusOK {
				mustError(t, r, tt.status, "limit")
				return
			}
			mustStatus(t, r, http.StatusOK)
			list := mustDecode[wireContactsList](t, r)
			if len(list.Contacts) != tt.n || list.Count != tt.count || (list.Meta.NextPageURL != nil) != tt.hasNextURL {
				t.Errorf("%d contacts, count %d, nextPageUrl %v", len(list.Contacts), list.Count, list.Meta.NextPageURL)
			}
		})
	}
	// A query's next page keeps the query.
	first := mustDo[wireContactsList](t, e, "GET", "/contacts/?locationId="+e.loc.ID+"&query=zebra&limit=5", nil, http.StatusOK)
	seenIDs := map[string]bool{}
	for _, c := range first.Contacts {
		seenIDs[c.ID] = true
	}
	next := mustDo[wireContactsList](t, e, "GET", *first.Meta.NextPageURL, nil, http.StatusOK)
	for _, c := range next.Contacts {
		if seenIDs[c.ID] || !strings.HasPrefix(c.CompanyName, "Zebra") {
			t.Errorf("query page 2 has %s (%s)", c.ID, c.CompanyName)
		}
	}
}

func TestContacts_ByBusiness(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	created := mustCreateMany(t, e, 10, time.Second, func(i int) jsonObj {
		if i%3 == 0 {
			return jsonObj{"businessId": "biz2", "firstName": "Other"}
		}
		return jsonObj{"businessId": "biz1", "firstName": fmt.Sprintf("B%d", i)}
	})
	var biz1 []string // newest first
	for i := len(created) - 1; i >= 0; i-- {
		if created[i].BusinessID == "biz1" {
			biz1 = append(biz1, created[i].ID)
		}
	}
	tests := []struct {
		business, query string
		want            []string
		count           int
	}{
		{"biz1", "", biz1, 6},
		{"biz1", "&limit=2", biz1[:2], 6},
		{"biz1", "&limit=2&skip=2", biz1[2:4], 6},
		{"biz1", "&skip=5", biz1[5:], 6},
		{"biz1", "&skip=10", nil, 6},
		{"biz1", "&limit=0", nil, 6},
		{"biz1", "&query=b4", []string{created[4].ID}, 1},
		{"biz2", "&limit=25", []string{created[9].ID, created[6].ID, created[3].ID, created[0].ID}, 4},
		{"nobody", "", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.business+tt.query, func(t *testing.T) {
			got := mustDo[wireContactsList](t, e, "GET", "/contacts/business/"+tt.business+"?locationId="+e.loc.ID+tt.query, nil, http.StatusOK)
			ids := []string{}
			for _, c := range got.Contacts {
				ids = append(ids, c.ID)
			}
			if !slices.Equal(ids, append([]string{}, tt.want...)) || got.Count != tt.count {
				t.Errorf("ids %v count %d, want %v count %d", ids, got.Count, tt.want, tt.count)
			}
		})
	}
}

// TestContacts_SearchPagesAreTheSortedHits: the pages of a search (by
// page number and by searchAfter, each way of a sort, last names in no
// order and some shared) are the hits sorted whole (then by id), cut in
// pages, and total is every hit: the search keeps only a page's worth of
// the hits it scans.
func TestContacts_SearchPagesAreTheSortedHits(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	const n, limit = 60, 7
	created := mustCreateMany(t, e, n, time.Minute, func(i int) jsonObj {
		return jsonObj{"firstName": fmt.Sprint("P", i), "lastName": fmt.Sprintf("L%02d", (i*37)%23), "email": fmt.Sprintf("p%d@x.com", i)}
	})
	for _, dir := range []string{"asc", "desc"} {
		want := slices.Clone(created)
		slices.SortFunc(want, func(x, y wireContact) int {
			c := strings.Compare(x.LastName, y.LastName)
			if dir == "desc" {
				c = -c
			}
			return cmp.Or(c, strings.Compare(x.ID, y.ID))
		})
		var wantIDs []string
		for _, c := range want {
			wantIDs = append(wantIDs, c.ID)
		}
		search := func(body jsonObj) ([]wireContact, int) {
			body["locationId"], body["pageLimit"], body["sort"] = e.loc.ID, limit, []jsonObj{{"field": "lastName", "direction": dir}}
			got := mustDo[struct {
				Contacts []wireContact `json:"contacts"`
				Total    int           `json:"total"`
			}](t, e, "POST", "/contacts/search", body, http.StatusOK)
			return got.Contacts, got.Total
		}
		var byPage, byCursor []string
		var after json.RawMessage
		for page := 1; page <= n/limit+2; page++ {
			got, total := search(jsonObj{"page": page})
			for _, c := range got {
				byPage = append(byPage, c.ID)
			}
			body := jsonObj{}
			if after != nil {
				body["searchAfter"] = after
			}
			got, total2 := search(body)
			for _, c := range got {
				byCursor = append(byCursor, c.ID)
			}
			if len(got) > 0 {
				after = got[len(got)-1].SearchAfter
			}
			if total != n || total2 != n {
				t.Errorf("%s: page %d: total %d and %d, want %d", dir, page, total, total2, n)
			}
		}
		if !slices.Equal(byPage, wantIDs) || !slices.Equal(byCursor, wantIDs) {
			t.Errorf("%s: by page %v,\nby searchAfter %v,\nwant %v", dir, byPage, byCursor, wantIDs)
		}
	}
}

func TestContacts_Search(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	people := []jsonObj{
		{"firstName": "Ann", "lastName": "Alpha", "email": "ann@a.com", "tags": []string{"vip"}, "companyName": "Acme", "city": "Paris"},
		{"firstName": "Bob", "lastName": "Beta", "email": "bob@b.com", "tags": []string{"lead"}, "companyName": "Beta Inc", "city": "Paris"},
		{"firstName": "Cid", "lastName": "Gamma", "email": "cid@c.com", "tags": []string{"vip", "lead"}, "city": "Rome"},
		{"firstName": "Dee", "lastName": "Delta", "email": "dee@d.com", "city": "Rome"},
		{"firstName": "Eve", "lastName": "Epsilon", "email": "eve@e.com", "tags": []string{"vip"}, "dnd": true},
	}
	created := mustCreateMany(t, e, len(people), time.Minute, func(i int) jsonObj { return people[i] })
	id := map[string]string{}
	for _, c := range created {
		id[c.FirstName] = c.ID
	}
	names := func(ns ...string) []string {
		out := []string{}
		for _, n := range ns {
			out = append(out, id[n])
		}
		return out
	}
	search := func(t *testing.T, body jsonObj) ([]wireContact, int) {
		t.Helper()
		body["locationId"] = e.loc.ID
		if _, ok := body["pageLimit"]; !ok {
			body["pageLimit"] = 10
		}
		got := mustDo[struct {
			Contacts []wireContact `json:"contacts"`
			Total    int           `json:"total"`
		}](t, e, "POST", "/contacts/search", body, http.StatusOK)
		return got.Contacts, got.Total
	}
	f := func(field, op string, value any) jsonObj {
		m := jsonObj{"field": field, "operator": op}
		if value != nil {
			m["value"] = value
		}
		return m
	}
	tests := []struct {
		name  string
		body  jsonObj
		want  []string
		total int
	}{
		{"all, newest first", jsonObj{}, names("Eve", "Dee", "Cid", "Bob", "Ann"), 5},
		{"query", jsonObj{"query": "BETA"}, names("Bob"), 1},
		{"tags eq", jsonObj{"filters": []jsonObj{f("tags", "eq", "VIP")}}, names("Eve", "Cid", "Ann"), 3},
		{"filters are ANDed", jsonObj{"filters": []jsonObj{f("city", "eq", "paris"), f("tags", "contains", "vi")}}, names("Ann"), 1},
		{"eq any of", jsonObj{"filters": []jsonObj{f("firstName", "eq", []string{"ann", "dee"})}}, names("Dee", "Ann"), 2},
		{"not_eq", jsonObj{"filters": []jsonObj{f("city", "not_eq", "Rome")}}, names("Eve", "Bob", "Ann"), 3},
		{"not_exists", jsonObj{"filters": []jsonObj{f("tags", "not_exists", nil)}}, names("Dee"), 1},
		{"exists", jsonObj{"filters": []jsonObj{f("companyName", "exists", nil)}}, names("Bob", "Ann"), 2},
		{"dnd", jsonObj{"filters": []jsonObj{f("dnd", "eq", true)}}, names("Eve"), 1},
		{"dateAdded range", jsonObj{"filters": []jsonObj{f("dateAdded", "range", jsonObj{"gte": created[2].DateAdded, "lt": msValue(t, created[4].DateAdded)})}}, names("Dee", "Cid"), 2},
		{"sort firstName asc", jsonObj{"sort": []jsonObj{{"field": "firstName", "direction": "asc"}}}, names("Ann", "Bob", "Cid", "Dee", "Eve"), 5},
		{"sort email desc", jsonObj{"sort": []jsonObj{{"field": "email", "direction": "desc"}}, "pageLimit": 2}, names("Eve", "Dee"), 5},
		{"page 2", jsonObj{"pageLimit": 2, "page": 2}, names("Cid", "Bob"), 5},
		{"page 3 is short", jsonObj{"pageLimit": 2, "page": 3}, names("Ann"), 5},
		{"past the end", jsonObj{"pageLimit": 2, "page": 9}, names(), 5},
		{"far past the end with searchAfter", jsonObj{"pageLimit": 2, "page": int64(1) << 62, "searchAfter": []any{}}, names(), 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, total := search(t, tt.body)
			ids := []string{}
			for _, c := range got {
				ids = append(ids, c.ID)
			}
			if !slices.Equal(ids, tt.want) || total != tt.total {
				t.Errorf("ids %v total %d, want %v total %d", ids, total, tt.want, tt.total)
			}
		})
	}
	t.Run("searchAfter", func(t *testing.T) {
		sort := []jsonObj{{"field": "lastName", "direction": "asc"}}
		var all []string
		var after json.RawMessage
		for range 10 {
			body := jsonObj{"pageLimit": 2, "sort": sort}
			if after != nil {
				body["searchAfter"] = after
			}
			page, _ := search(t, body)
			if len(page) == 0 {
				break
			}
			for _, c := range page {
				all = append(all, c.ID)
			}
			after = page[len(page)-1].SearchAfter
		}
		if want := names("Ann", "Bob", "Dee", "Eve", "Cid"); !slices.Equal(all, want) {
			t.Errorf("searchAfter pages %v, want %v", all, want)
		}
	})
	t.Run("other location", func(t *testing.T) {
		_, token := e.addLocation(t, "SearchOtherLocation0", false)
		r := e.call(t, apiRequest{method: "POST", path: "/contacts/search", token: token,
			body: jsonObj{"locationId": e.loc.ID, "pageLimit": 5}})
		mustError(t, r, http.StatusForbidden, "The token does not have access to this location.")
	})
}

func msValue(tb testing.TB, iso string) int64 {
	tb.Helper()
	n, err := strconv.ParseInt(millis(tb, iso), 10, 64)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func TestTasks_CRUD(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	c := e.mustCreateContact(t, jsonObj{"firstName": "Tom"})
	base := "/contacts/" + c.ID + "/tasks"
	type taskEnvelope struct {
		Task wireTask `json:"task"`
	}
	created := mustDo[taskEnvelope](t, e, "POST", base, jsonObj{
		"title": "Call", "body": "About the quote", "dueDate": "2024-03-08T12:30:00+02:00", "completed": false,
	}, http.StatusCreated).Task
	if !idPattern.MatchString(created.ID) || created.ContactID != c.ID || created.DueDate != "2024-03-08T10:30:00.000Z" ||
		created.Title != "Call" || created.Body != "About the quote" || created.Completed {
		t.Errorf("created %+v", created)
	}
	second := e.mustCreateTask(t, c.ID, "Second")
	list := mustDo[struct{ Tasks []wireTask }](t, e, "GET", base, nil, http.StatusOK).Tasks
	if len(list) != 2 || list[0].ID != created.ID || list[1].ID != second.ID {
		t.Errorf("tasks %+v, want oldest first", list)
	}
	got := mustDo[taskEnvelope](t, e, "GET", base+"/"+created.ID, nil, http.StatusOK).Task
	if got != created {
		t.Errorf("GET %+v, want %+v", got, created)
	}
	upd := mustDo[taskEnvelope](t, e, "PUT", base+"/"+created.ID, jsonObj{"title": "Call again", "dueDate": "2024-03-09T09:00:00Z"}, http.StatusOK).Task
	if upd.Title != "Call again" || upd.Body != "About the quote" || upd.DueDate != "2024-03-09T09:00:00.000Z" || upd.Completed {
		t.Errorf("updated %+v", upd)
	}
	// The completed route sets completion only, whatever else the body says.
	done := mustDo[taskEnvelope](t, e, "PUT", base+"/"+created.ID+"/completed",
		jsonObj{"completed": true, "title": "Sneaky", "dueDate": "2030-01-01T00:00:00Z"}, http.StatusOK).Task
	if !done.Completed || done.Title != "Call again" || done.DueDate != upd.DueDate {
		t.Errorf("completed %+v", done)
	}
	undone := mustDo[taskEnvelope](t, e, "PUT", base+"/"+created.ID+"/completed", jsonObj{"completed": false}, http.StatusOK).Task
	if undone.Completed {
		t.Errorf("completed false: %+v", undone)
	}
	del := mustDo[wireDeleted](t, e, "DELETE", base+"/"+created.ID, nil, http.StatusOK)
	if del.Succeded == nil || !*del.Succeded {
		t.Error(`delete task: want {"succeded": true}`)
	}
	mustError(t, e.do(t, "GET", base+"/"+created.ID, nil), http.StatusNotFound, "Task not found")
	list = mustDo[struct{ Tasks []wireTask }](t, e, "GET", base, nil, http.StatusOK).Tasks
	if len(list) != 1 || list[0].ID != second.ID {
		t.Errorf("tasks after delete %+v", list)
	}
}

func TestNotes_CRUD(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	c := e.mustCreateContact(t, jsonObj{"firstName": "Nora"})
	base := "/contacts/" + c.ID + "/notes"
	type noteEnvelope struct {
		Note wireNote `json:"note"`
	}
	first := mustDo[noteEnvelope](t, e, "POST", base, jsonObj{"body": "First", "title": "T", "color": "#FFAA00", "pinned": true}, http.StatusCreated).Note
	if !idPattern.MatchString(first.ID) || !isoPattern.MatchString(first.DateAdded) || first.ContactID != c.ID ||
		first.Body != "First" || first.Color != "#FFAA00" || !first.Pinned {
		t.Errorf("created %+v", first)
	}
	e.clk.Advance(time.Minute)
	second := e.mustCreateNote(t, c.ID, "Second")
	list := mustDo[struct{ Notes []wireNote }](t, e, "GET", base, nil, http.StatusOK).Notes
	if len(list) != 2 || list[0].ID != second.ID || list[1].ID != first.ID {
		t.Errorf("notes %+v, want newest first", list)
	}
	got := mustDo[noteEnvelope](t, e, "GET", base+"/"+first.ID, nil, http.StatusOK).Note
	if got != first {
		t.Errorf("GET %+v, want %+v", got, first)
	}
	upd := mustDo[noteEnvelope](t, e, "PUT", base+"/"+first.ID, jsonObj{"body": "Edited", "pinned": false}, http.StatusOK).Note
	if upd.Body != "Edited" || upd.Pinned || upd.Title != "T" || upd.Color != "#FFAA00" || upd.DateAdded != first.DateAdded {
		t.Errorf("updated %+v", upd)
	}
	del := mustDo[wireDeleted](t, e, "DELETE", base+"/"+first.ID, nil, http.StatusOK)
	if del.Succeded == nil || !*del.Succeded {
		t.Error(`delete note: want {"succeded": true}`)
	}
	mustError(t, e.do(t, "GET", base+"/"+first.ID, nil), http.StatusNotFound, "Note not found")
	mustError(t, e.do(t, "DELETE", base+"/"+first.ID, nil), http.StatusNotFound, "Note not found")
}

func TestAppointments_CreateEditList(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	c := e.mustCreateContact(t, jsonObj{"firstName": "Ada"})
	cal := e.loc.Calendars[0].ID

	ap := e.mustBook(t, c.ID, "2024-03-05T10:00:00+05:30")
	if !idPattern.MatchString(ap.ID) || ap.ContactID != c.ID || ap.CalendarID != cal || ap.LocationID != e.loc.ID ||
		ap.StartTime != "2024-03-05T10:00:00+05:30" || ap.EndTime != "2024-03-05T10:30:00+05:30" || ap.AppointmentStatus != "confirmed" {
		t.Errorf("created %+v", ap)
	}
	long := mustDo[wireAppointment](t, e, "POST", "/calendars/events/appointments", jsonObj{
		"calendarId": cal, "locationId": e.loc.ID, "contactId": c.ID, "title": "Demo",
		"startTime": "2024-03-04T09:00:00-05:00", "endTime": "2024-03-04T10:15:00-05:00",
	}, http.StatusOK)
	if long.StartTime != "2024-03-04T09:00:00-05:00" || long.EndTime != "2024-03-04T10:15:00-05:00" || long.Title != "Demo" {
		t.Errorf("created with end %+v", long)
	}

	edited := mustDo[wireAppointment](t, e, "PUT", "/calendars/events/appointments/"+ap.ID,
		jsonObj{"startTime": "2024-03-06T09:00:00-04:00", "appointmentStatus": "showed"}, http.StatusOK)
	if edited.ID != ap.ID || edited.StartTime != "2024-03-06T09:00:00-04:00" || edited.EndTime != "2024-03-06T09:30:00-04:00" ||
		edited.AppointmentStatus != "showed" {
		t.Errorf("edited %+v", edited)
	}
	cancelled := mustDo[wireAppointment](t, e, "PUT", "/calendars/events/appointments/"+long.ID, jsonObj{"appointmentStatus": "cancelled"}, http.StatusOK)
	if cancelled.AppointmentStatus != "cancelled" || cancelled.StartTime != long.StartTime {
		t.Errorf("cancelled %+v", cancelled)
	}
	titled := mustDo[wireAppointment](t, e, "PUT", "/calendars/events/appointments/"+ap.ID, jsonObj{"title": "Renamed"}, http.StatusOK)
	if titled.StartTime != edited.StartTime || titled.EndTime != edited.EndTime || titled.Title != "Renamed" {
		t.Errorf("title-only edit moved the times: %+v", titled)
	}

	ext := e.do(t, "POST", "/contacts/"+c.ID+"/appointments", jsonObj{"calendarId": cal, "startTime": "2024-03-07T15:00:00Z"})
	mustStatus(t, ext, http.StatusCreated)
	if w := ext.header.Get("Warning"); !strings.Contains(w, "POST /calendars/events/appointments") {
		t.Errorf("extension Warning header %q", w)
	}
	extAp := mustDecode[wireAppointment](t, ext)
	if extAp.ContactID != c.ID || extAp.StartTime != "2024-03-07T15:00:00+00:00" {
		t.Errorf("extension appointment %+v", extAp)
	}
	if w := e.do(t, "POST", "/calendars/events/appointments", jsonObj{"calendarId": cal, "locationId": e.loc.ID,
		"contactId": c.ID, "startTime": "2024-03-08T10:00:00Z"}).header.Get("Warning"); w != "" {
		t.Errorf("live route has a Warning header %q", w)
	}

	events := mustDo[struct{ Events []wireEvent }](t, e, "GET", "/contacts/"+c.ID+"/appointments", nil, http.StatusOK).Events
	var got [][2]string
	for _, ev := range events {
		if !eventTimePattern.MatchString(ev.StartTime) || !eventTimePattern.MatchString(ev.EndTime) || !eventTimePattern.MatchString(ev.DateAdded) {
			t.Errorf("event times %q %q %q, want like 2021-07-16 11:00:00", ev.StartTime, ev.EndTime, ev.DateAdded)
		}
		wantStatus := "booked"
		if ev.ID == long.ID {
			wantStatus = "cancelled"
		}
		if ev.ContactID != c.ID || ev.CalendarID != cal || ev.Status != wantStatus {
			t.Errorf("event %+v", ev)
		}
		got = append(got, [2]string{ev.ID, ev.StartTime})
	}
	want := [][2]string{ // by start time, in UTC
		{long.ID, "2024-03-04 14:00:00"},
		{ap.ID, "2024-03-06 13:00:00"},
		{extAp.ID, "2024-03-07 15:00:00"},
		{events[len(events)-1].ID, "2024-03-08 10:00:00"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
}

func TestAppointments_Errors(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	c := e.mustCreateContact(t, jsonObj{"firstName": "Ada"})
	ap := e.mustBook(t, c.ID, "2024-03-05T10:00:00Z")
	other, otherToken := e.addLocation(t, "AppointmentOtherLoc0", false)
	r := e.call(t, apiRequest{method: "POST", path: "/contacts/", token: otherToken, body: jsonObj{"locationId": other.ID, "firstName": "B"}})
	mustStatus(t, r, http.StatusCreated)
	otherContact := mustDecode[wireContactEnvelope](t, r).Contact
	cal := e.loc.Calendars[0].ID
	march1, march31 := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 3, 31, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name, method, path string
		body               any
		token              string
		status             int
		msg                string
	}{
		{"unknown calendar", "POST", "/calendars/events/appointments", jsonObj{"calendarId": "NoSuchCalendar", "locationId": e.loc.ID,
			"contactId": c.ID, "startTime": "2024-03-05T10:00:00Z"}, "", http.StatusBadRequest, "Calendar NoSuchCalendar not found"},
		{"other location's calendar", "POST", "/calendars/events/appointments", jsonObj{"calendarId": other.Calendars[0].ID, "locationId": e.loc.ID,
			"contactId": c.ID, "startTime": "2024-03-05T10:00:00Z"}, "", http.StatusBadRequest, "not found in location"},
		{"unknown calendar on extension", "POST", "/contacts/" + c.ID + "/appointments", jsonObj{"calendarId": "NoSuchCalendar",
			"startTime": "2024-03-05T10:00:00Z"}, "", http.StatusBadRequest, "Calendar NoSuchCalendar not found"},
		{"unknown calendar on edit", "PUT", "/calendars/events/appointments/" + ap.ID, jsonObj{"calendarId": "NoSuchCalendar"}, "", http.StatusBadRequest, "Calendar"},
		{"end before start", "POST", "/calendars/events/appointments", jsonObj{"calendarId": cal, "locationId": e.loc.ID, "contactId": c.ID,
			"startTime": "2024-03-05T10:00:00Z", "endTime": "2024-03-05T09:00:00Z"}, "", http.StatusBadRequest, "endTime must be after startTime"},
		{"contact of another location", "POST", "/calendars/events/appointments", jsonObj{"calendarId": cal, "locationId": e.loc.ID,
			"contactId": otherContact.ID, "startTime": "2024-03-05T10:00:00Z"}, "", http.StatusBadRequest, "is not in location"},
		{"extension with another locationId", "POST", "/contacts/" + c.ID + "/appointments", jsonObj{"calendarId": cal, "locationId": other.ID,
			"startTime": "2024-03-05T10:00:00Z"}, "", http.StatusBadRequest, "is not in location"},
		{"booking in a location the token cannot use", "POST", "/calendars/events/appointments", jsonObj{"calendarId": cal, "locationId": e.loc.ID,
			"contactId": c.ID, "startTime": "2024-03-05T10:00:00Z"}, otherToken, http.StatusForbidden, "The token does not have access to this location."},
		{"editing another location's appointment", "PUT", "/calendars/events/appointments/" + ap.ID, jsonObj{"title": "x"}, otherToken,
			http.StatusForbidden, "The token does not have access to this location."},
		{"events without calendar, owner or group", "GET", eventsQuery(e.loc.ID, march1, march31), nil, "", http.StatusBadRequest,
			"Either of calendarId, userId or groupId is required"},
		{"events window backwards", "GET", eventsQuery(e.loc.ID, march31, march1, "calendarId", cal), nil, "", http.StatusBadRequest,
			"endTime must not be before startTime"},
		{"another location's events", "GET", eventsQuery(e.loc.ID, march1, march31, "calendarId", cal), nil, otherToken,
			http.StatusForbidden, "The token does not have access to this location."},
		{"reading another location's appointment", "GET", "/calendars/events/appointments/" + ap.ID, nil, otherToken,
			http.StatusForbidden, "The token does not have access to this location."},
		{"deleting another location's appointment", "DELETE", "/calendars/events/" + ap.ID, jsonObj{}, otherToken,
			http.StatusForbidden, "The token does not have access to this location."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call(t, apiRequest{method: tt.method, path: tt.path, body: tt.body, token: tt.token})
			mustError(t, r, tt.status, tt.msg)
		})
	}
	// Nothing was booked or changed by the failures.
	events := mustDo[struct{ Events []wireEvent }](t, e, "GET", "/contacts/"+c.ID+"/appointments", nil, http.StatusOK).Events
	if len(events) != 1 || events[0].ID != ap.ID || events[0].StartTime != "2024-03-05 10:00:00" {
		t.Errorf("events after failures: %+v", events)
	}
}

// TestIDs_Format checks the shape of ids and dates of every record kind.
func TestIDs_Format(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	fx := mustFixture(t, e)
	for name, id := range map[string]string{"location": e.loc.ID, "calendar": e.loc.Calendars[0].ID, "contact": fx.contact.ID,
		"task": fx.task.ID, "note": fx.note.ID, "appointment": fx.appointment.ID} {
		if !idPattern.MatchString(id) {
			t.Errorf("%s id %q is not 20 base62 characters", name, id)
		}
	}
	for name, d := range map[string]string{"contact dateAdded": fx.contact.DateAdded, "contact dateUpdated": fx.contact.DateUpdated,
		"note dateAdded": fx.note.DateAdded, "task dueDate": fx.task.DueDate} {
		if !isoPattern.MatchString(d) {
			t.Errorf("%s %q is not ISO-8601 UTC with milliseconds", name, d)
		}
	}
	// Ids are unique across many records.
	ids := map[string]bool{}
	for _, c := range mustCreateMany(t, e, 200, 0, nil) {
		if ids[c.ID] || !idPattern.MatchString(c.ID) {
			t.Errorf("id %q repeated or malformed", c.ID)
		}
		ids[c.ID] = true
	}
}

// TestIDs_Deterministic runs the same requests on two twins with the same
// seed and clock: every response is byte for byte the same.
func TestIDs_Deterministic(t *testing.T) {
	t.Parallel()
	script := func(e *twinEnv) []string {
		var out []string
		record := func(r apiResponse) apiResponse {
			out = append(out, fmt.Sprintf("%d %s", r.status, r.body))
			return r
		}
		c := mustDecode[wireContactEnvelope](t, record(e.do(t, "POST", "/contacts/", jsonObj{"locationId": e.loc.ID, "email": "d@x.com"}))).Contact
		e.clk.Advance(1500 * time.Millisecond)
		record(e.do(t, "POST", "/contacts/upsert", jsonObj{"locationId": e.loc.ID, "email": "u@x.com"}))
		record(e.do(t, "POST", "/contacts/upsert", jsonObj{"locationId": e.loc.ID, "email": "d@x.com", "city": "Oslo"}))
		record(e.do(t, "POST", "/contacts/"+c.ID+"/tasks", jsonObj{"title": "t", "dueDate": "2024-03-08T10:00:00Z", "completed": false}))
		record(e.do(t, "POST", "/contacts/"+c.ID+"/notes", jsonObj{"body": "n"}))
		record(e.do(t, "POST", "/calendars/events/appointments", jsonObj{"calendarId": e.loc.Calendars[0].ID,
			"locationId": e.loc.ID, "contactId": c.ID, "startTime": "2024-03-05T10:00:00+01:00"}))
		record(e.do(t, "GET", "/contacts/?locationId="+e.loc.ID+"&limit=1", nil))
		record(e.do(t, "POST", "/contacts/search", jsonObj{"locationId": e.loc.ID, "pageLimit": 10}))
		return out
	}
	a, b := newTwin(t), newTwin(t)
	if a.token != b.token || a.loc.ID != b.loc.ID || !equalJSON(t, a.loc, b.loc) {
		t.Errorf("same seed, different defaults: %s %s", a.loc.ID, b.loc.ID)
	}
	ra, rb := script(a), script(b)
	if !slices.Equal(ra, rb) {
		for i := range min(len(ra), len(rb)) {
			if ra[i] != rb[i] {
				t.Errorf("response %d differs:\n%s\n%s", i, ra[i], rb[i])
			}
		}
	}
	c := newTwinSeed(t, 2)
	if c.loc.ID == a.loc.ID || c.token == a.token {
		t.Error("seed 2 gives the same ids as seed 1")
	}
}

// TestAuth checks tokens, scopes and locations.
func TestAuth(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	fx := mustFixture(t, e)
	c := fx.contact.ID
	e.srv.AddToken("read-only", auth.Principal{Kind: auth.PrivateIntegration, LocationID: e.loc.ID,
		Scopes: []string{"contacts.readonly", "calendars/events.readonly"}})
	e.srv.AddToken("contacts-only", auth.Principal{Kind: auth.OAuthAccess, LocationID: e.loc.ID,
		Scopes: []string{"contacts.readonly", "contacts.write"}})
	e.srv.AddToken("short-lived", auth.Principal{Kind: auth.OAuthAccess, LocationID: e.loc.ID,
		Scopes: []string{"contacts.readonly"}, ExpiresAt: clockStart.Add(time.Hour)})
	otherLoc, otherToken := e.addLocation(t, "OtherLocationB000000", false)
	const (
		invalid  = "Invalid token: access token is invalid"
		scope    = "The token is not authorized for this scope."
		location = "The token does not have access to this location."
	)
	createBody := jsonObj{"locationId": e.loc.ID, "firstName": "x"}
	tests := []struct {
		name, method, path string
		body               any
		token              string
		status             int
		msg                string
	}{
		{"no token", "GET", "/contacts/" + c, nil, omitHeader, http.StatusUnauthorized, invalid},
		{"bad token", "GET", "/contacts/" + c, nil, "nope", http.StatusUnauthorized, invalid},
		{"no token on write", "POST", "/contacts/", createBody, omitHeader, http.StatusUnauthorized, invalid},
		{"bad token on calendars", "PUT", "/calendars/events/appointments/" + fx.appointment.ID, jsonObj{"title": "x"}, "nope", http.StatusUnauthorized, invalid},
		{"read-only reads a contact", "GET", "/contacts/" + c, nil, "read-only", http.StatusOK, ""},
		{"read-only lists", "GET", "/contacts/?locationId=" + e.loc.ID, nil, "read-only", http.StatusOK, ""},
		{"read-only searches", "POST", "/contacts/search", jsonObj{"locationId": e.loc.ID, "pageLimit": 1}, "read-only", http.StatusOK, ""},
		{"read-only reads tasks", "GET", "/contacts/" + c + "/tasks", nil, "read-only", http.StatusOK, ""},
		{"read-only reads appointments", "GET", "/contacts/" + c + "/appointments", nil, "read-only", http.StatusOK, ""},
		{"read-only creates", "POST", "/contacts/", createBody, "read-only", http.StatusUnauthorized, scope},
		{"read-only updates", "PUT", "/contacts/" + c, jsonObj{"firstName": "x"}, "read-only", http.StatusUnauthorized, scope},
		{"read-only deletes", "DELETE", "/contacts/" + c, nil, "read-only", http.StatusUnauthorized, scope},
		{"read-only upserts", "POST", "/contacts/upsert", createBody, "read-only", http.StatusUnauthorized, scope},
		{"read-only tags", "POST", "/contacts/" + c + "/tags", jsonObj{"tags": []string{"a"}}, "read-only", http.StatusUnauthorized, scope},
		{"read-only creates a task", "POST", "/contacts/" + c + "/tasks", jsonObj{"title": "t", "dueDate": "2024-03-08T10:00:00Z", "completed": false}, "read-only", http.StatusUnauthorized, scope},
		{"read-only deletes a note", "DELETE", "/contacts/" + c + "/notes/" + fx.note.ID, nil, "read-only", http.StatusUnauthorized, scope},
		{"read-only books", "POST", "/calendars/events/appointments", jsonObj{"calendarId": e.loc.Calendars[0].ID, "locationId": e.loc.ID,
			"contactId": c, "startTime": "2024-03-05T10:00:00Z"}, "read-only", http.StatusUnauthorized, scope},
		{"contacts-only books", "POST", "/contacts/" + c + "/appointments", jsonObj{"calendarId": e.loc.Calendars[0].ID,
			"startTime": "2024-03-05T10:00:00Z"}, "contacts-only", http.StatusUnauthorized, scope},
		{"contacts-only writes contacts", "PUT", "/contacts/" + c, jsonObj{"city": "Lima"}, "contacts-only", http.StatusOK, ""},
		{"short-lived before expiry", "GET", "/contacts/" + c, nil, "short-lived", http.StatusOK, ""},
		{"other location reads", "GET", "/contacts/" + c, nil, otherToken, http.StatusForbidden, location},
		{"other location lists", "GET", "/contacts/?locationId=" + e.loc.ID, nil, otherToken, http.StatusForbidden, location},
		{"other location creates", "POST", "/contacts/", createBody, otherToken, http.StatusForbidden, location},
		{"other location updates", "PUT", "/contacts/" + c, jsonObj{"firstName": "x"}, otherToken, http.StatusForbidden, location},
		{"other location deletes", "DELETE", "/contacts/" + c, nil, otherToken, http.StatusForbidden, location},
		{"other location upserts", "POST", "/contacts/upsert", createBody, otherToken, http.StatusForbidden, location},
		{"other location reads a task", "GET", "/contacts/" + c + "/tasks/" + fx.task.ID, nil, otherToken, http.StatusForbidden, location},
		{"other location reads notes", "GET", "/contacts/" + c + "/notes", nil, otherToken, http.StatusForbidden, location},
		{"other location duplicate search", "GET", "/contacts/search/duplicate?email=a%40b.com&locationId=" + e.loc.ID, nil, otherToken, http.StatusForbidden, location},
		{"other location business", "GET", "/contacts/business/x?locationId=" + e.loc.ID, nil, otherToken, http.StatusForbidden, location},
		{"other location tags", "DELETE", "/contacts/" + c + "/tags", jsonObj{"tags": []string{"a"}}, otherToken, http.StatusForbidden, location},
		{"other location lists its own", "GET", "/contacts/?locationId=" + otherLoc.ID, nil, otherToken, http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.call(t, apiRequest{method: tt.method, path: tt.path, body: tt.body, token: tt.token})
			if tt.msg == "" {
				mustStatus(t, r, tt.status)
				return
			}
			mustError(t, r, tt.status, tt.msg)
		})
	}
	// A token that was refused changed nothing.
	got := mustDo[wireContactEnvelope](t, e, "GET", "/contacts/"+c, nil, http.StatusOK).Contact
	if got.FirstName != fx.contact.FirstName {
		t.Errorf("refused writes changed the contact: %+v", got)
	}
	// Expiry follows the twin's clock.
	e.clk.Advance(2 * time.Hour)
	r := e.call(t, apiRequest{method: "GET", path: "/contacts/" + c, token: "short-lived"})
	mustError(t, r, http.StatusUnauthorized, "access token has expired")
}

// TestConcurrency_ContactsUnderLoad has 50 clients create, upsert, update
// and list contacts at once; run it with -race.
func TestConcurrency_ContactsUnderLoad(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	const workers, each = 50, 4
	var (
		created, sharedCreated, sharedRefused atomic.Int64
		upsertNew, upsertUpdated              atomic.Int64
		wg                                    sync.WaitGroup
	)
	start := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			<-start
			var mine []string
			for i := range each {
				r := e.call(t, apiRequest{method: "POST", path: "/contacts/", body: jsonObj{
					"locationId": e.loc.ID, "email": fmt.Sprintf("w%d.%d@x.com", w, i), "phone": fmt.Sprintf("+1555%03d%04d", w, i),
				}})
				if r.status != http.StatusCreated {
					t.Errorf("worker %d create: %s", w, r)
					return
				}
				var c wireContactEnvelope
				if err := json.Unmarshal(r.body, &c); err != nil {
					t.Errorf("worker %d: %v", w, err)
					return
				}
				mine = append(mine, c.Contact.ID)
				created.Add(1)
			}
			// Everyone races for the same email (in different case) and phone.
			r := e.call(t, apiRequest{method: "POST", path: "/contacts/", body: jsonObj{
				"locationId": e.loc.ID, "email": []string{"Shared@x.com", "shared@X.COM"}[w%2], "phone": "+1 777-777-7777",
			}})
			switch r.status {
			case http.StatusCreated:
				sharedCreated.Add(1)
			case http.StatusBadRequest:
				sharedRefused.Add(1)
			default:
				t.Errorf("worker %d shared create: %s", w, r)
			}
			// And upserts the same contact.
			r = e.call(t, apiRequest{method: "POST", path: "/contacts/upsert", body: jsonObj{
				"locationId": e.loc.ID, "email": "upserted@x.com", "tags": []string{fmt.Sprintf("w%d", w)},
			}})
			var up wireUpsert
			if r.status != http.StatusOK || json.Unmarshal(r.body, &up) != nil {
				t.Errorf("worker %d upsert: %s", w, r)
			} else if up.New {
				upsertNew.Add(1)
			} else {
				upsertUpdated.Add(1)
			}
			for _, id := range mine {
				r = e.call(t, apiRequest{method: "PUT", path: "/contacts/" + id, body: jsonObj{"firstName": fmt.Sprintf("W%d", w)}})
				if r.status != http.StatusOK {
					t.Errorf("worker %d update: %s", w, r)
				}
				r = e.call(t, apiRequest{method: "POST", path: "/contacts/" + id + "/tags", body: jsonObj{"tags": []string{"load"}}})
				if r.status != http.StatusCreated {
					t.Errorf("worker %d tags: %s", w, r)
				}
			}
			r = e.call(t, apiRequest{method: "GET", path: "/contacts/?limit=25&locationId=" + e.loc.ID})
			if r.status != http.StatusOK {
				t.Errorf("worker %d list: %s", w, r)
			}
			// Deletes half of its contacts.
			for _, id := range mine[:each/2] {
				r = e.call(t, apiRequest{method: "DELETE", path: "/contacts/" + id})
				if r.status != http.StatusOK {
					t.Errorf("worker %d delete: %s", w, r)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}
	if created.Load() != workers*each || sharedCreated.Load() != 1 || sharedRefused.Load() != workers-1 {
		t.Errorf("created %d, shared created %d refused %d", created.Load(), sharedCreated.Load(), sharedRefused.Load())
	}
	if upsertNew.Load() != 1 || upsertUpdated.Load() != workers-1 {
		t.Errorf("upserts: %d new, %d updated; want 1 and %d", upsertNew.Load(), upsertUpdated.Load(), workers-1)
	}
	all := mustNoDuplicates(t, e, e.loc.ID, e.token)
	wantTotal := workers*each/2 + 2 // half the workers' contacts, the shared one, the upserted one
	if len(all) != wantTotal {
		t.Errorf("%d contacts listed, want %d", len(all), wantTotal)
	}
	list := mustDo[wireContactsList](t, e, "GET", "/contacts/?locationId="+e.loc.ID, nil, http.StatusOK)
	if list.Count != wantTotal {
		t.Errorf("count %d, want %d", list.Count, wantTotal)
	}
	for i := 1; i < len(all); i++ {
		if all[i].DateAdded > all[i-1].DateAdded {
			t.Fatalf("list not newest first at %d: %s after %s", i, all[i].DateAdded, all[i-1].DateAdded)
		}
	}
	byEmail := map[string]wireContact{}
	for _, c := range all {
		byEmail[strings.ToLower(c.Email)] = c
	}
	if up := byEmail["upserted@x.com"]; len(up.Tags) != 1 {
		t.Errorf("upserted contact tags %q, want the last writer's one tag", up.Tags)
	}
	for w := range workers {
		for i := range each {
			c, ok := byEmail[fmt.Sprintf("w%d.%d@x.com", w, i)]
			if ok != (i >= each/2) {
				t.Errorf("contact w%d.%d present %v", w, i, ok)
				continue
			}
			if ok && (c.FirstName != fmt.Sprintf("W%d", w) || !slices.Equal(c.Tags, []string{"load"})) {
				t.Errorf("contact w%d.%d: %+v", w, i, c)
			}
		}
	}
}
