//go:build pact

package contract

import (
	"context"
	"fmt"
	"time"

	"testing"

	"github.com/pact-foundation/pact-go/v2/consumer"
	"github.com/pact-foundation/pact-go/v2/matchers"

	"github.com/contactbridge/contactbridge/sync/highlevelapi"
)

// The examples the HighLevel consumer test sends; at verification the
// provider states give the real values.
const (
	hlToken    = "pit-00000000-pact-0000-0000-000000000000"
	hlLocation = "pactLocationExample1"
	hlCalendar = "pactCalendarExample1"
	hlContact  = "pactContactExample01"
	hlTask     = "pactTaskExample00001"
	hlEmail    = "pact.lead@example.com"
)

func hlClient(cfg consumer.MockServerConfig) (*highlevelapi.ClientWithResponses, error) {
	return highlevelapi.New(fmt.Sprintf("http://%s:%d", cfg.Host, cfg.Port), nil,
		highlevelapi.WithRequestEditorFn(authorization("Bearer "+hlToken)))
}

// hlAuth is the request headers every HighLevel call sends.
func hlAuth(version string) func(*consumer.V4RequestBuilder) {
	return func(b *consumer.V4RequestBuilder) {
		b.Header("Authorization", fromState("${"+KeyAuthorization+"}", "Bearer "+hlToken))
		b.Header("Version", matchers.S(version))
	}
}

func hlJSON(version string, body any) func(*consumer.V4RequestBuilder) {
	return func(b *consumer.V4RequestBuilder) {
		hlAuth(version)(b)
		b.Header("Content-Type", matchers.Regex("application/json", reJSON))
		b.JSONBody(body)
	}
}

// hlContactBody is the contact the sync reads.
func hlContactBody() obj {
	return obj{
		"id":          matchers.Regex(hlContact, reHighLevelID),
		"locationId":  matchers.Like(hlLocation),
		"firstName":   matchers.Like("Ada"),
		"lastName":    matchers.Like("Lovelace"),
		"email":       matchers.Regex(hlEmail, reEmail),
		"tags":        matchers.Like([]string{}),
		"dateAdded":   matchers.Regex("2026-01-01T00:00:00.000Z", reISOMillis),
		"dateUpdated": matchers.Regex("2026-01-01T00:00:00.000Z", reISOMillis),
	}
}

func hlTaskBody(completed bool) obj {
	return obj{
		"id":        matchers.Regex(hlTask, reHighLevelID),
		"contactId": matchers.Regex(hlContact, reHighLevelID),
		"title":     matchers.Like("Call back"),
		"dueDate":   matchers.Regex("2030-01-02T10:00:00.000Z", reISOMillis),
		"completed": matchers.Like(completed),
	}
}

func hlNoteBody() obj {
	return obj{
		"id":        matchers.Regex("pactNoteExample00001", reHighLevelID),
		"contactId": matchers.Regex(hlContact, reHighLevelID),
		"body":      matchers.Like("Met at the fair"),
		"dateAdded": matchers.Regex("2026-01-01T00:00:00.000Z", reISOMillis),
	}
}

// hlError is the HighLevel error shape {statusCode, message}.
func hlError(status int, message string) func(*consumer.V4ResponseBuilder) {
	return func(b *consumer.V4ResponseBuilder) {
		b.JSONBody(obj{"statusCode": matchers.Integer(status), "message": matchers.Like(message)})
	}
}

func hlContactPath(suffix string) matchers.Matcher {
	return fromState("/contacts/${"+KeyContactID+"}"+suffix, "/contacts/"+hlContact+suffix)
}

type hlAPI = *highlevelapi.ClientWithResponses

// hlCall runs f with a client of the mock server.
func hlCall(f func(context.Context, hlAPI) error) func(consumer.MockServerConfig) error {
	return callWith(hlClient, f)
}

// hlFails expects the call to end in an *highlevelapi.Error matching is.
func hlFails(is error, f func(context.Context, hlAPI) error) func(consumer.MockServerConfig) error {
	return callWith(hlClient, failsWith(is, f))
}

var emailParam = map[string]any{ParamEmail: hlEmail}

func ptr[T any](v T) *T { return &v }

// newLead is the contact the sync creates in HighLevel.
func newLead(location string) highlevelapi.CreateContactJSONRequestBody {
	return highlevelapi.CreateContactJSONRequestBody{LocationId: location, FirstName: ptr("Ada"),
		LastName: ptr("Lovelace"), Email: ptr(hlEmail), Tags: &[]string{"pact"}}
}

func highLevelInteractions() []interaction {
	locationFromState := fromState("${"+KeyLocationID+"}", hlLocation)
	due := time.Date(2030, 1, 2, 10, 0, 0, 0, time.UTC)
	return []interaction{{
		state: StateNoContactWithEmail, params: emailParam,
		desc:   "a request to create a contact",
		method: "POST", path: matchers.S("/contacts/"),
		request: hlJSON("2021-07-28", obj{"locationId": locationFromState, "firstName": matchers.Like("Ada"),
			"lastName": matchers.Like("Lovelace"), "email": matchers.S(hlEmail), "tags": matchers.EachLike("pact", 1)}),
		status: 201,
		answer: func(b *consumer.V4ResponseBuilder) {
			body := hlContactBody()
			body["tags"] = matchers.EachLike("pact", 1)
			b.JSONBody(obj{"contact": body})
		},
		call: hlCall(func(ctx context.Context, c *highlevelapi.ClientWithResponses) error {
			res, err := highlevelapi.OK(c.CreateContactWithResponse(ctx, nil, newLead(hlLocation)))
			if err != nil {
				return err
			}
			return want("contact id", res.JSON201.Contact.Id, hlContact)
		}),
	}, {
		state: StateContactExists, desc: "a request for a contact",
		method: "GET", path: hlContactPath(""), request: hlAuth("2021-07-28"),
		status: 200, answer: func(b *consumer.V4ResponseBuilder) { b.JSONBody(obj{"contact": hlContactBody()}) },
		call: hlCall(func(ctx context.Context, c *highlevelapi.ClientWithResponses) error {
			res, err := highlevelapi.OK(c.GetContactWithResponse(ctx, hlContact, nil))
			if err != nil {
				return err
			}
			return want("dateUpdated", *res.JSON200.Contact.DateUpdated, "2026-01-01T00:00:00.000Z")
		}),
	}, {
		state: StateContactExists, desc: "a request to update a contact",
		method: "PUT", path: hlContactPath(""),
		request: hlJSON("2021-07-28", obj{"firstName": matchers.Like("Grace"), "tags": matchers.EachLike("customer", 1)}),
		status:  200,
		answer: func(b *consumer.V4ResponseBuilder) {
			b.JSONBody(obj{"contact": hlContactBody(), "succeded": matchers.Like(true)})
		},
		call: hlCall(func(ctx context.Context, c *highlevelapi.ClientWithResponses) error {
			_, err := highlevelapi.OK(c.UpdateContactWithResponse(ctx, hlContact, nil,
				highlevelapi.UpdateContactJSONRequestBody{FirstName: ptr("Grace"), Tags: &[]string{"customer"}}))
			return err
		}),
	}, {
		state: StateContactWithEmail, params: emailParam, desc: "a request to upsert a contact by email",
		method: "POST", path: matchers.S("/contacts/upsert"),
		request: hlJSON("2021-07-28", obj{"locationId": locationFromState, "email": matchers.S(hlEmail),
			"firstName": matchers.Like("Ada")}),
		status: 200,
		answer: func(b *consumer.V4ResponseBuilder) {
			b.JSONBody(obj{"contact": hlContactBody(), "new": matchers.Like(false)})
		},
		call: hlCall(func(ctx context.Context, c *highlevelapi.ClientWithResponses) error {
			res, err := highlevelapi.OK(c.UpsertContactWithResponse(ctx, nil, highlevelapi.UpsertContactJSONRequestBody{
				LocationId: hlLocation, Email: ptr(hlEmail), FirstName: ptr("Ada")}))
			if err != nil {
				return err
			}
			return want("new", res.JSON200.New, false)
		}),
	}, {
		state: StateContactWithEmail, params: emailParam, desc: "a search for contacts by email",
		method: "POST", path: matchers.S("/contacts/search"),
		request: hlJSON("2021-07-28", obj{"locationId": locationFromState, "pageLimit": matchers.Integer(10),
			"filters": []any{obj{"field": matchers.S("email"), "operator": matchers.S("eq"), "value": matchers.S(hlEmail)}}}),
		status: 200,
		answer: func(b *consumer.V4ResponseBuilder) {
			b.JSONBody(obj{"contacts": matchers.EachLike(hlContactBody(), 1), "total": matchers.Integer(1)})
		},
		call: hlCall(func(ctx context.Context, c *highlevelapi.ClientWithResponses) error {
			filters := []highlevelapi.SearchFilter{{Field: "email", Operator: "eq", Value: hlEmail}}
			res, err := highlevelapi.OK(c.SearchContactsAdvancedWithResponse(ctx, nil, highlevelapi.SearchContactsAdvancedJSONRequestBody{
				LocationId: hlLocation, PageLimit: 10, Filters: &filters}))
			if err != nil {
				return err
			}
			return want("contacts", len(res.JSON200.Contacts), 1)
		}),
	}, {
		state: StateContactWithTwoTasks, desc: "a request for a contact's tasks",
		method: "GET", path: hlContactPath("/tasks"), request: hlAuth("2021-07-28"),
		status: 200, answer: func(b *consumer.V4ResponseBuilder) {
			b.JSONBody(obj{"tasks": matchers.EachLike(hlTaskBody(false), 2)})
		},
		call: hlCall(func(ctx context.Context, c *highlevelapi.ClientWithResponses) error {
			res, err := highlevelapi.OK(c.GetAllTasksWithResponse(ctx, hlContact, nil))
			if err != nil {
				return err
			}
			return want("tasks", len(res.JSON200.Tasks), 2)
		}),
	}, {
		state: StateContactExists, desc: "a request to create a task",
		method: "POST", path: hlContactPath("/tasks"),
		request: hlJSON("2021-07-28", obj{"title": matchers.Like("Call back"),
			"dueDate": matchers.Regex("2030-01-02T10:00:00Z", reISOTime), "completed": matchers.Like(false)}),
		status: 201, answer: func(b *consumer.V4ResponseBuilder) { b.JSONBody(obj{"task": hlTaskBody(false)}) },
		call: hlCall(func(ctx context.Context, c *highlevelapi.ClientWithResponses) error {
			_, err := highlevelapi.OK(c.CreateTaskWithResponse(ctx, hlContact, nil, highlevelapi.CreateTaskJSONRequestBody{
				Title: "Call back", DueDate: due}))
			return err
		}),
	}, {
		state: StateContactWithOpenTask, desc: "a request to complete a task",
		method: "PUT", path: fromState("/contacts/${"+KeyContactID+"}/tasks/${"+KeyTaskID+"}/completed",
			"/contacts/"+hlContact+"/tasks/"+hlTask+"/completed"),
		request: hlJSON("2021-07-28", obj{"completed": matchers.Like(true)}),
		status:  200, answer: func(b *consumer.V4ResponseBuilder) { b.JSONBody(obj{"task": hlTaskBody(true)}) },
		call: hlCall(func(ctx context.Context, c *highlevelapi.ClientWithResponses) error {
			res, err := highlevelapi.OK(c.UpdateTaskCompletedWithResponse(ctx, hlContact, hlTask, nil,
				highlevelapi.UpdateTaskCompletedJSONRequestBody{Completed: true}))
			if err != nil {
				return err
			}
			return want("completed", res.JSON200.Task.Completed, true)
		}),
	}, {
		state: StateContactWithNote, desc: "a request for a contact's notes",
		method: "GET", path: hlContactPath("/notes"), request: hlAuth("2021-07-28"),
		status: 200, answer: func(b *consumer.V4ResponseBuilder) {
			b.JSONBody(obj{"notes": matchers.EachLike(hlNoteBody(), 1)})
		},
		call: hlCall(func(ctx context.Context, c *highlevelapi.ClientWithResponses) error {
			res, err := highlevelapi.OK(c.GetAllNotesWithResponse(ctx, hlContact, nil))
			if err != nil {
				return err
			}
			return want("notes", len(res.JSON200.Notes), 1)
		}),
	}, {
		state: StateContactExists, desc: "a request to create a note",
		method: "POST", path: hlContactPath("/notes"),
		request: hlJSON("2021-07-28", obj{"body": matchers.Like("Met at the fair")}),
		status:  201, answer: func(b *consumer.V4ResponseBuilder) { b.JSONBody(obj{"note": hlNoteBody()}) },
		call: hlCall(func(ctx context.Context, c *highlevelapi.ClientWithResponses) error {
			_, err := highlevelapi.OK(c.CreateNoteWithResponse(ctx, hlContact, nil, highlevelapi.CreateNoteJSONRequestBody{Body: "Met at the fair"}))
			return err
		}),
	}, {
		state: StateContactExists, desc: "a request to book an appointment",
		method: "POST", path: matchers.S("/calendars/events/appointments"),
		request: hlJSON("2021-04-15", obj{
			"calendarId": fromState("${"+KeyCalendarID+"}", hlCalendar), "locationId": locationFromState,
			"contactId": fromState("${"+KeyContactID+"}", hlContact), "title": matchers.Like("Demo"),
			"startTime": matchers.Regex("2030-01-02T10:00:00Z", reISOTime),
			"endTime":   matchers.Regex("2030-01-02T10:30:00Z", reISOTime)}),
		status: 200,
		answer: func(b *consumer.V4ResponseBuilder) {
			b.JSONBody(obj{"id": matchers.Regex("pactEventExample0001", reHighLevelID),
				"calendarId": matchers.Like(hlCalendar), "contactId": matchers.Like(hlContact), "locationId": matchers.Like(hlLocation)})
		},
		call: hlCall(func(ctx context.Context, c *highlevelapi.ClientWithResponses) error {
			end := due.Add(30 * time.Minute)
			_, err := highlevelapi.OK(c.CreateAppointmentWithResponse(ctx, nil, highlevelapi.CreateAppointmentJSONRequestBody{
				CalendarId: hlCalendar, LocationId: hlLocation, ContactId: hlContact, Title: ptr("Demo"), StartTime: due, EndTime: &end}))
			return err
		}),
	}, {
		state: StateContactWithAppoint, desc: "a request for a contact's appointments",
		method: "GET", path: hlContactPath("/appointments"), request: hlAuth("2021-07-28"),
		status: 200,
		answer: func(b *consumer.V4ResponseBuilder) {
			b.JSONBody(obj{"events": matchers.EachLike(obj{
				"id": matchers.Regex("pactEventExample0001", reHighLevelID), "calendarId": matchers.Like(hlCalendar),
				"startTime": matchers.Regex("2030-01-02 10:00:00", `^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$`),
				"endTime":   matchers.Regex("2030-01-02 10:30:00", `^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$`),
			}, 1)})
		},
		call: hlCall(func(ctx context.Context, c *highlevelapi.ClientWithResponses) error {
			res, err := highlevelapi.OK(c.GetAppointmentsForContactWithResponse(ctx, hlContact, nil))
			if err != nil {
				return err
			}
			return want("appointments", len(res.JSON200.Events), 1)
		}),
	}, {
		state: StateCannotWrite, desc: "a request to create a contact with a token without the write scope",
		method: "POST", path: matchers.S("/contacts/"),
		request: hlJSON("2021-07-28", obj{"locationId": locationFromState, "firstName": matchers.Like("Ada"),
			"lastName": matchers.Like("Lovelace"), "email": matchers.Like(hlEmail), "tags": matchers.EachLike("pact", 1)}),
		status: 401, answer: hlError(401, "The token is not authorized for this scope."),
		call: hlFails(highlevelapi.ErrUnauthorized, func(ctx context.Context, c *highlevelapi.ClientWithResponses) error {
			_, err := highlevelapi.OK(c.CreateContactWithResponse(ctx, nil, newLead(hlLocation)))
			return err
		}),
	}, {
		state: StateContactElsewhere, desc: "a request for a contact of another location",
		method: "GET", path: hlContactPath(""), request: hlAuth("2021-07-28"),
		status: 403, answer: hlError(403, "The token does not have access to this location."),
		call: hlFails(highlevelapi.ErrForbidden, func(ctx context.Context, c *highlevelapi.ClientWithResponses) error {
			_, err := highlevelapi.OK(c.GetContactWithResponse(ctx, hlContact, nil))
			return err
		}),
	}, {
		state: StateContactMissing, desc: "a request for a contact that does not exist",
		method: "GET", path: hlContactPath(""), request: hlAuth("2021-07-28"),
		status: 404, answer: hlError(404, "Contact not found"),
		call: hlFails(highlevelapi.ErrNotFound, func(ctx context.Context, c *highlevelapi.ClientWithResponses) error {
			_, err := highlevelapi.OK(c.GetContactWithResponse(ctx, hlContact, nil))
			return err
		}),
	}, {
		state: StateNoContactWithEmail, params: emailParam, desc: "a request to create a contact without a location",
		method: "POST", path: matchers.S("/contacts/"),
		request: hlJSON("2021-07-28", obj{"locationId": matchers.S(""), "firstName": matchers.Like("Ada"),
			"lastName": matchers.Like("Lovelace"), "email": matchers.S(hlEmail), "tags": matchers.EachLike("pact", 1)}),
		status: 422,
		answer: func(b *consumer.V4ResponseBuilder) {
			b.JSONBody(obj{"statusCode": matchers.Integer(422), "message": matchers.EachLike("locationId should not be empty", 1)})
		},
		call: hlFails(highlevelapi.ErrValidation, func(ctx context.Context, c *highlevelapi.ClientWithResponses) error {
			_, err := highlevelapi.OK(c.CreateContactWithResponse(ctx, nil, newLead("")))
			return err
		}),
	}, {
		state: StateRateLimited, desc: "a request over the rate limit",
		method: "GET", path: hlContactPath(""), request: hlAuth("2021-07-28"),
		status: 429,
		answer: func(b *consumer.V4ResponseBuilder) {
			b.Header("Retry-After", matchers.Regex("10", reDigits))
			hlError(429, "Too many requests")(b)
		},
		call: hlFails(highlevelapi.ErrRateLimited, func(ctx context.Context, c *highlevelapi.ClientWithResponses) error {
			res, err := highlevelapi.OK(c.GetContactWithResponse(ctx, hlContact, nil))
			if got := res.HTTPResponse.Header.Get("Retry-After"); got != "10" {
				return fmt.Errorf("Retry-After = %q", got)
			}
			return err
		}),
	}}
}

func TestConsumer_HighLevel(t *testing.T) {
	run(t, newPact(t, ProviderHighLevel, outDir()), highLevelInteractions())
}
