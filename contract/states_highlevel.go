package contract

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"time"

	"github.com/contactbridge/contactbridge/sync/highlevelapi"
)

// HighLevelAccount is what the HighLevel states are made with: a location
// and the credentials of the sync, reached through the public API.
type HighLevelAccount struct {
	// BaseURL is the API's ("" means the live one).
	BaseURL string
	// Token is a token of the location with every scope the sync uses.
	Token      string
	LocationID string
	// CalendarID is a calendar of the location, for appointments.
	CalendarID string
	// ReadOnlyToken is a token of the location with contacts.readonly
	// only; StateCannotWrite needs it.
	ReadOnlyToken string
	// OtherLocationID is another location, and OtherToken a token of it;
	// StateContactElsewhere makes its contact there.
	OtherLocationID, OtherToken string
	// HTTP sends the requests; nil means http.DefaultClient.
	HTTP *http.Client
	// Limit makes StateRateLimited; the zero value sends requests until a
	// 429 and, at teardown, waits its Retry-After with Wait (nil: the real clock).
	Limit RateLimit
	Wait  Wait
}

// HighLevelStates returns the handlers of every HighLevel provider state.
// What a setup makes, its teardown deletes.
func HighLevelStates(acc HighLevelAccount) (States, error) {
	api, err := highLevelClient(acc, acc.Token)
	if err != nil {
		return nil, err
	}
	base := map[string]any{
		KeyAuthorization: "Bearer " + acc.Token,
		KeyLocationID:    acc.LocationID,
		KeyCalendarID:    acc.CalendarID,
		KeyContactID:     missingContactHighLevel,
	}
	h := &highLevelStates{acc: acc, api: api, stateSet: newStateSet(base, acc.Limit, acc.Wait, func(ctx context.Context) (int, http.Header, error) {
		res, err := api.GetContactWithResponse(ctx, missingContactHighLevel, nil)
		if err != nil {
			return 0, nil, err
		}
		return res.StatusCode(), res.HTTPResponse.Header, nil
	})}
	return States{
		StateContactExists:       h.with(h.contact),
		StateContactWithTwoTasks: h.with(h.contact, h.task, h.task),
		StateContactWithOpenTask: h.with(h.contact, h.task),
		StateContactWithNote:     h.with(h.contact, h.note),
		StateContactWithAppoint:  h.with(h.contact, h.appointment),
		StateContactWithEmail:    h.with(h.noneWithEmail(h.deleteByEmail), h.contactWithEmail),
		StateNoContactWithEmail:  h.with(h.noneWithEmail(h.deleteByEmail)),
		StateContactMissing:      h.with(),
		StateContactElsewhere:    h.with(h.contactElsewhere),
		StateCannotWrite:         h.with(h.readOnly),
		StateRateLimited:         h.with(h.rateLimited),
	}, nil
}

func highLevelClient(acc HighLevelAccount, token string) (*highlevelapi.ClientWithResponses, error) {
	doer := acc.HTTP
	if doer == nil {
		doer = http.DefaultClient
	}
	c, err := highlevelapi.New(acc.BaseURL, doer, highlevelapi.WithRequestEditorFn(authorization("Bearer "+token)))
	if err != nil {
		return nil, fmt.Errorf("contract: %w", err)
	}
	return c, nil
}

// authorization is a request editor that sets the Authorization header.
func authorization(value string) func(context.Context, *http.Request) error {
	return func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", value)
		return nil
	}
}

type highLevelStates struct {
	*stateSet
	acc HighLevelAccount
	api *highlevelapi.ClientWithResponses
}

// uniqueEmail is an address no one else has, so that sandboxes with
// duplicate checks accept every setup.
func uniqueEmail() string {
	return fmt.Sprintf("pact-%s@example.com", rand.Text()[:12])
}

func (h *highLevelStates) contact(ctx context.Context, vals, _ map[string]any) error {
	id, err := h.createContact(ctx, h.api, h.acc.LocationID, uniqueEmail())
	vals[KeyContactID] = id
	return err
}

func (h *highLevelStates) createContact(ctx context.Context, api *highlevelapi.ClientWithResponses, location, email string) (string, error) {
	first, last := "Pact", "Contact"
	res, err := highlevelapi.OK(api.CreateContactWithResponse(ctx, nil, highlevelapi.CreateContactJSONRequestBody{
		LocationId: location, Email: &email, FirstName: &first, LastName: &last,
	}))
	if err != nil {
		return "", fmt.Errorf("contract: make a contact: %w", err)
	}
	id := res.JSON201.Contact.Id
	h.undo.add(func(ctx context.Context) error {
		_, err := highlevelapi.OK(api.DeleteContactWithResponse(ctx, id, nil))
		if err != nil && !highlevelapi.IsNotFound(err) {
			return fmt.Errorf("contract: delete contact %s: %w", id, err)
		}
		return nil
	})
	return id, nil
}

func (h *highLevelStates) task(ctx context.Context, vals, _ map[string]any) error {
	id := vals[KeyContactID].(string)
	res, err := highlevelapi.OK(h.api.CreateTaskWithResponse(ctx, id, nil, highlevelapi.CreateTaskJSONRequestBody{
		Title: "Call back", DueDate: time.Date(2030, 1, 2, 10, 0, 0, 0, time.UTC),
	}))
	if err != nil {
		return fmt.Errorf("contract: make a task: %w", err)
	}
	vals[KeyTaskID] = res.JSON201.Task.Id
	return nil
}

func (h *highLevelStates) note(ctx context.Context, vals, _ map[string]any) error {
	id := vals[KeyContactID].(string)
	res, err := highlevelapi.OK(h.api.CreateNoteWithResponse(ctx, id, nil, highlevelapi.CreateNoteJSONRequestBody{Body: "Met at the fair"}))
	if err != nil {
		return fmt.Errorf("contract: make a note: %w", err)
	}
	vals[KeyNoteID] = res.JSON201.Note.Id
	return nil
}

func (h *highLevelStates) appointment(ctx context.Context, vals, _ map[string]any) error {
	id := vals[KeyContactID].(string)
	start := time.Date(2030, 1, 2, 10, 0, 0, 0, time.UTC)
	end := start.Add(30 * time.Minute)
	res, err := highlevelapi.OK(h.api.CreateAppointmentWithResponse(ctx, nil, highlevelapi.CreateAppointmentJSONRequestBody{
		CalendarId: h.acc.CalendarID, LocationId: h.acc.LocationID, ContactId: id, StartTime: start, EndTime: &end,
	}))
	if err != nil {
		return fmt.Errorf("contract: make an appointment: %w", err)
	}
	vals[KeyAppointmentID] = res.JSON200.Id
	return nil
}

func (h *highLevelStates) contactWithEmail(ctx context.Context, vals, params map[string]any) error {
	email, err := paramString(params, ParamEmail)
	if err != nil {
		return err
	}
	id, err := h.createContact(ctx, h.api, h.acc.LocationID, email)
	vals[KeyContactID] = id
	return err
}

func (h *highLevelStates) deleteByEmail(ctx context.Context, email string) error {
	res, err := highlevelapi.OK(h.api.GetDuplicateContactWithResponse(ctx, &highlevelapi.GetDuplicateContactParams{
		LocationId: h.acc.LocationID, Email: &email,
	}))
	if err != nil {
		return fmt.Errorf("contract: look up %s: %w", email, err)
	}
	if res.JSON200 == nil || res.JSON200.Contact == nil {
		return nil
	}
	if _, err := highlevelapi.OK(h.api.DeleteContactWithResponse(ctx, res.JSON200.Contact.Id, nil)); err != nil {
		return fmt.Errorf("contract: delete the contact with %s: %w", email, err)
	}
	return nil
}

func (h *highLevelStates) contactElsewhere(ctx context.Context, vals, _ map[string]any) error {
	if h.acc.OtherToken == "" || h.acc.OtherLocationID == "" {
		return fmt.Errorf("%w: another location and its token", ErrStateNeeds)
	}
	other, err := highLevelClient(h.acc, h.acc.OtherToken)
	if err != nil {
		return err
	}
	id, err := h.createContact(ctx, other, h.acc.OtherLocationID, uniqueEmail())
	vals[KeyContactID] = id
	return err
}

func (h *highLevelStates) readOnly(_ context.Context, vals, _ map[string]any) error {
	if h.acc.ReadOnlyToken == "" {
		return fmt.Errorf("%w: a token with contacts.readonly only", ErrStateNeeds)
	}
	vals[KeyAuthorization] = "Bearer " + h.acc.ReadOnlyToken
	return nil
}
