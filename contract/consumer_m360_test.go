//go:build pact

package contract

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/pact-foundation/pact-go/v2/consumer"
	"github.com/pact-foundation/pact-go/v2/matchers"

	"github.com/contactbridge/contactbridge/sync/m360api"
)

// The examples the Marketing 360 consumer test sends; at verification the
// provider states give the real values.
const (
	m360ID             = "m360_pact_example"
	m360Secret         = "pact-example-secret"
	m360Contact  int64 = 1001
	m360Task     int64 = 2001
	m360Campaign int64 = 3001
	m360Email          = "pact.customer@example.com"
	m360Epoch    int64 = 1767225600
)

func m360Client(cfg consumer.MockServerConfig) (*m360api.ClientWithResponses, error) {
	return m360api.New(fmt.Sprintf("http://%s:%d", cfg.Host, cfg.Port), nil,
		m360api.WithRequestEditorFn(authorization(BasicAuth(m360ID, m360Secret))))
}

func m360Auth(b *consumer.V4RequestBuilder) {
	b.Header("Authorization", fromState("${"+KeyAuthorization+"}", BasicAuth(m360ID, m360Secret)))
}

func m360JSON(body any) func(*consumer.V4RequestBuilder) {
	return func(b *consumer.V4RequestBuilder) {
		m360Auth(b)
		b.Header("Content-Type", matchers.Regex("application/json", reJSON))
		b.JSONBody(body)
	}
}

func m360ContactBody() obj {
	return obj{
		"id":          matchers.Integer(int(m360Contact)),
		"firstName":   matchers.Like("Ada"),
		"email":       matchers.Regex(m360Email, reEmail),
		"tags":        matchers.Like([]string{}),
		"externalIds": matchers.Like(obj{}),
		"created":     matchers.Integer(int(m360Epoch)),
		"updated":     matchers.Integer(int(m360Epoch)),
	}
}

func m360TaskBody(completed bool) obj {
	return obj{
		"id":        matchers.Integer(int(m360Task)),
		"contactId": matchers.Integer(int(m360Contact)),
		"title":     matchers.Like("Onboarding call"),
		"completed": matchers.Like(completed),
		"updated":   matchers.Integer(int(m360Epoch)),
	}
}

// m360Error is the Marketing 360 error shape {"error": {code, message}}.
func m360Error(code, message string) func(*consumer.V4ResponseBuilder) {
	return func(b *consumer.V4ResponseBuilder) {
		b.JSONBody(obj{"error": obj{"code": matchers.S(code), "message": matchers.Like(message)}})
	}
}

func m360ContactPath(suffix string) matchers.Matcher {
	id := strconv.FormatInt(m360Contact, 10)
	return fromState("/v1/contacts/${"+KeyContactID+"}"+suffix, "/v1/contacts/"+id+suffix)
}

type m360API = *m360api.ClientWithResponses

func m360Call(f func(context.Context, m360API) error) func(consumer.MockServerConfig) error {
	return callWith(m360Client, f)
}

// m360Fails expects the call to end in an *m360api.Error matching is.
func m360Fails(is error, f func(context.Context, m360API) error) func(consumer.MockServerConfig) error {
	return callWith(m360Client, failsWith(is, f))
}

// newCustomer is the contact the sync creates in Marketing 360 for a
// HighLevel contact.
func newCustomer(email string) m360api.M360CreateContactJSONRequestBody {
	return m360api.M360CreateContactJSONRequestBody{FirstName: ptr("Ada"), LastName: ptr("Lovelace"), Email: ptr(email),
		ExternalIds: &m360api.ExternalIdsInput{Ghl: ptr(hlContact)}}
}

func m360Interactions() []interaction {
	start := time.Date(2030, 1, 2, 10, 0, 0, 0, time.UTC).Unix()
	customer := func(email any) obj {
		return obj{"firstName": matchers.Like("Ada"), "lastName": matchers.Like("Lovelace"), "email": email,
			"externalIds": obj{"ghl": matchers.Regex(hlContact, reHighLevelID)}}
	}
	return []interaction{{
		state: StateNoContactWithEmail, params: map[string]any{ParamEmail: m360Email},
		desc:   "a request to create a contact",
		method: "POST", path: matchers.S("/v1/contacts"), request: m360JSON(customer(matchers.S(m360Email))),
		status: 201, answer: func(b *consumer.V4ResponseBuilder) { b.JSONBody(obj{"result": m360ContactBody()}) },
		call: m360Call(func(ctx context.Context, c *m360api.ClientWithResponses) error {
			res, err := m360api.OK(c.M360CreateContactWithResponse(ctx, newCustomer(m360Email)))
			if err != nil {
				return err
			}
			return want("id", res.JSON201.Result.Id, m360Contact)
		}),
	}, {
		state: StateContactExists, desc: "a request for a contact",
		method: "GET", path: m360ContactPath(""), request: m360Auth,
		status: 200, answer: func(b *consumer.V4ResponseBuilder) { b.JSONBody(obj{"result": m360ContactBody()}) },
		call: m360Call(func(ctx context.Context, c *m360api.ClientWithResponses) error {
			res, err := m360api.OK(c.M360GetContactWithResponse(ctx, m360Contact))
			if err != nil {
				return err
			}
			return want("updated", res.JSON200.Result.Updated, m360Epoch)
		}),
	}, {
		state: StateContactLinked, params: map[string]any{ParamGHLID: hlContact},
		desc:   "a search for the contact linked to a HighLevel contact",
		method: "GET", path: matchers.S("/v1/contacts"),
		request: func(b *consumer.V4RequestBuilder) {
			m360Auth(b)
			b.Query("externalId", matchers.S(hlContact))
		},
		status: 200,
		answer: func(b *consumer.V4ResponseBuilder) {
			b.JSONBody(obj{"result": matchers.EachLike(m360ContactBody(), 1), "page": matchers.Integer(1),
				"pageSize": matchers.Integer(25), "total": matchers.Integer(1)})
		},
		call: m360Call(func(ctx context.Context, c *m360api.ClientWithResponses) error {
			res, err := m360api.OK(c.M360ListContactsWithResponse(ctx, &m360api.M360ListContactsParams{ExternalId: ptr(hlContact)}))
			if err != nil {
				return err
			}
			return want("contacts", len(res.JSON200.Result), 1)
		}),
	}, {
		state: StateContactExists, desc: "a request to replace a contact",
		method: "PUT", path: m360ContactPath(""), request: m360JSON(customer(matchers.Regex(m360Email, reEmail))),
		status: 200, answer: func(b *consumer.V4ResponseBuilder) { b.JSONBody(obj{"result": m360ContactBody()}) },
		call: m360Call(func(ctx context.Context, c *m360api.ClientWithResponses) error {
			_, err := m360api.OK(c.M360ReplaceContactWithResponse(ctx, m360Contact, newCustomer(m360Email)))
			return err
		}),
	}, {
		state: StateContactExists, desc: "a request to create a task",
		method: "POST", path: m360ContactPath("/tasks"),
		request: m360JSON(obj{"title": matchers.Like("Onboarding call"), "dueAt": matchers.Integer(int(start))}),
		status:  201, answer: func(b *consumer.V4ResponseBuilder) { b.JSONBody(obj{"result": m360TaskBody(false)}) },
		call: m360Call(func(ctx context.Context, c *m360api.ClientWithResponses) error {
			_, err := m360api.OK(c.M360CreateTaskWithResponse(ctx, m360Contact, m360api.M360CreateTaskJSONRequestBody{
				Title: "Onboarding call", DueAt: &start}))
			return err
		}),
	}, {
		state: StateContactWithOpenTask, desc: "a request for the tasks changed since a time",
		method: "GET", path: matchers.S("/v1/tasks"),
		request: func(b *consumer.V4RequestBuilder) {
			m360Auth(b)
			b.Query("updatedSince", matchers.Regex("0", reDigits))
		},
		status: 200,
		answer: func(b *consumer.V4ResponseBuilder) {
			b.JSONBody(obj{"result": matchers.EachLike(m360TaskBody(false), 1), "total": matchers.Integer(1)})
		},
		call: m360Call(func(ctx context.Context, c *m360api.ClientWithResponses) error {
			res, err := m360api.OK(c.M360ListTasksWithResponse(ctx, &m360api.M360ListTasksParams{UpdatedSince: ptr[int64](0)}))
			if err != nil {
				return err
			}
			return want("tasks", len(res.JSON200.Result), 1)
		}),
	}, {
		state: StateContactWithOpenTask, desc: "a request to complete a task",
		method: "PUT", path: fromState("/v1/contacts/${"+KeyContactID+"}/tasks/${"+KeyTaskID+"}",
			fmt.Sprintf("/v1/contacts/%d/tasks/%d", m360Contact, m360Task)),
		request: m360JSON(obj{"completed": matchers.Like(true)}),
		status:  200,
		answer: func(b *consumer.V4ResponseBuilder) {
			body := m360TaskBody(true)
			body["completedAt"] = matchers.Integer(int(m360Epoch))
			b.JSONBody(obj{"result": body})
		},
		call: m360Call(func(ctx context.Context, c *m360api.ClientWithResponses) error {
			res, err := m360api.OK(c.M360UpdateTaskWithResponse(ctx, m360Contact, m360Task, m360api.M360UpdateTaskJSONRequestBody{Completed: ptr(true)}))
			if err != nil {
				return err
			}
			return want("completed", res.JSON200.Result.Completed, true)
		}),
	}, {
		state: StateContactExists, desc: "a request to create a note",
		method: "POST", path: m360ContactPath("/notes"), request: m360JSON(obj{"body": matchers.Like("Welcome aboard")}),
		status: 201,
		answer: func(b *consumer.V4ResponseBuilder) {
			b.JSONBody(obj{"result": obj{"id": matchers.Integer(4001), "contactId": matchers.Integer(int(m360Contact)),
				"body": matchers.Like("Welcome aboard"), "created": matchers.Integer(int(m360Epoch))}})
		},
		call: m360Call(func(ctx context.Context, c *m360api.ClientWithResponses) error {
			_, err := m360api.OK(c.M360CreateNoteWithResponse(ctx, m360Contact, m360api.M360CreateNoteJSONRequestBody{Body: "Welcome aboard"}))
			return err
		}),
	}, {
		state: StateContactExists, desc: "a request to create a calendar event",
		method: "POST", path: matchers.S("/v1/calendar/events"),
		request: m360JSON(obj{"contactId": intFromState(KeyContactID, m360Contact), "title": matchers.Like("Demo"),
			"start": matchers.Integer(int(start)), "end": matchers.Integer(int(start + 1800))}),
		status: 201,
		answer: func(b *consumer.V4ResponseBuilder) {
			b.JSONBody(obj{"result": obj{"id": matchers.Integer(5001), "contactId": matchers.Integer(int(m360Contact)),
				"start": matchers.Integer(int(start)), "end": matchers.Integer(int(start + 1800)), "status": matchers.Like("scheduled")}})
		},
		call: m360Call(func(ctx context.Context, c *m360api.ClientWithResponses) error {
			_, err := m360api.OK(c.M360CreateEventWithResponse(ctx, m360api.M360CreateEventJSONRequestBody{
				ContactId: m360Contact, Title: ptr("Demo"), Start: start, End: start + 1800}))
			return err
		}),
	}, {
		state: StateCampaignAndContact, desc: "a request to trigger a campaign for a contact",
		method: "POST", path: fromState("/v1/campaigns/${"+KeyCampaignID+"}/triggers", fmt.Sprintf("/v1/campaigns/%d/triggers", m360Campaign)),
		request: m360JSON(obj{"contactId": intFromState(KeyContactID, m360Contact)}),
		status:  201,
		answer: func(b *consumer.V4ResponseBuilder) {
			b.JSONBody(obj{"result": obj{"id": matchers.Integer(6001), "campaignId": matchers.Integer(int(m360Campaign)),
				"contactId": matchers.Integer(int(m360Contact)), "created": matchers.Integer(int(m360Epoch))}})
		},
		call: m360Call(func(ctx context.Context, c *m360api.ClientWithResponses) error {
			_, err := m360api.OK(c.M360TriggerCampaignWithResponse(ctx, m360Campaign, m360api.M360TriggerCampaignJSONRequestBody{ContactId: m360Contact}))
			return err
		}),
	}, {
		state: StateCredentialsRejected, desc: "a request with a key that is not valid",
		method: "GET", path: m360ContactPath(""), request: m360Auth,
		status: 401, answer: m360Error("unauthorized", "Invalid API key"),
		call: m360Fails(m360api.ErrUnauthorized, func(ctx context.Context, c *m360api.ClientWithResponses) error {
			_, err := m360api.OK(c.M360GetContactWithResponse(ctx, m360Contact))
			return err
		}),
	}, {
		state: StateCannotWrite, desc: "a request to create a contact with a key that may only read",
		method: "POST", path: matchers.S("/v1/contacts"), request: m360JSON(customer(matchers.Regex(m360Email, reEmail))),
		status: 403, answer: m360Error("forbidden", "The API key lacks the permission contacts:write"),
		call: m360Fails(m360api.ErrForbidden, func(ctx context.Context, c *m360api.ClientWithResponses) error {
			_, err := m360api.OK(c.M360CreateContactWithResponse(ctx, newCustomer(m360Email)))
			return err
		}),
	}, {
		state: StateContactMissing, desc: "a request for a contact that does not exist",
		method: "GET", path: m360ContactPath(""), request: m360Auth,
		status: 404, answer: m360Error("not_found", "Contact not found"),
		call: m360Fails(m360api.ErrNotFound, func(ctx context.Context, c *m360api.ClientWithResponses) error {
			_, err := m360api.OK(c.M360GetContactWithResponse(ctx, m360Contact))
			return err
		}),
	}, {
		state: StateContactMissing, desc: "a request to create a contact with an email that is not valid",
		method: "POST", path: matchers.S("/v1/contacts"), request: m360JSON(customer(matchers.S("not-an-email"))),
		status: 422,
		answer: func(b *consumer.V4ResponseBuilder) {
			b.JSONBody(obj{"error": obj{"code": matchers.S("validation_error"), "message": matchers.Like("email must be an email"),
				"fields": obj{"email": matchers.Like("must be an email")}}})
		},
		call: m360Fails(m360api.ErrValidation, func(ctx context.Context, c *m360api.ClientWithResponses) error {
			_, err := m360api.OK(c.M360CreateContactWithResponse(ctx, newCustomer("not-an-email")))
			return err
		}),
	}, {
		state: StateRateLimited, desc: "a request over the rate limit",
		method: "GET", path: m360ContactPath(""), request: m360Auth,
		status: 429,
		answer: func(b *consumer.V4ResponseBuilder) {
			b.Header("Retry-After", matchers.Regex("1", reDigits))
			m360Error("rate_limited", "Rate limit exceeded")(b)
		},
		call: m360Fails(m360api.ErrRateLimited, func(ctx context.Context, c *m360api.ClientWithResponses) error {
			res, err := m360api.OK(c.M360GetContactWithResponse(ctx, m360Contact))
			if got := res.HTTPResponse.Header.Get("Retry-After"); got != "1" {
				return fmt.Errorf("Retry-After = %q", got)
			}
			return err
		}),
	}}
}

func TestConsumer_M360(t *testing.T) {
	run(t, newPact(t, ProviderM360, outDir()), m360Interactions())
}
