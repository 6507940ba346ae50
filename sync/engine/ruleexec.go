package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/contactbridge/contactbridge/internal/logkey"
	"github.com/contactbridge/contactbridge/sync/highlevelapi"
	"github.com/contactbridge/contactbridge/sync/state"
)

// Requester sends a rule's raw requests to one API: its base URL and the
// client of the sync's transport for it (authorised, quota-paced, retried
// as the generated clients are).
type Requester struct {
	BaseURL string
	Client  *http.Client
}

// Bounds of the rules' work.
const (
	// maxRuleBody bounds an answer read for a rule (a record, a list
	// searched for a marker).
	maxRuleBody = 4 << 20
	// maxErrorBody bounds the error body a parked action keeps.
	maxErrorBody = 2 << 10
	// maxOpenRuleEffects bounds the unfinished rule actions of one entity
	// one job runs.
	maxOpenRuleEffects = 100
)

// Operations a rule action may run again without any lookup: a campaign
// trigger enters a contact once however often it is sent. PUT and DELETE
// are idempotent by their method.
var idempotentOps = []string{"m360-trigger-campaign"}

// markedByExternalID are the Marketing 360 creates whose record carries
// externalIds.ghl: a rule's create sets the marker there (unless the
// template set it) and looks it up with ?externalId= on the same path.
var markedByExternalID = []string{"m360-create-task", "m360-create-note", "m360-create-event"}

// markedInBody are the HighLevel creates whose record has a text body but
// no external id: a rule's create carries the marker on a line of its own
// at the end of the body, and is looked up among the contact's records.
var markedInBody = []string{"create-task", "create-note"}

// ruleRequest is a rule action's request as the ledger stores it (the
// effect's request), with what re-planning it needs: its trigger and job.
type ruleRequest struct {
	Rule      string          `json:"rule"`
	Action    string          `json:"action"`
	Trigger   string          `json:"trigger"`
	API       string          `json:"api"`
	Operation string          `json:"operation"`
	Method    string          `json:"method"`
	Path      string          `json:"path"`
	Query     url.Values      `json:"query,omitempty"`
	Body      json.RawMessage `json:"body,omitempty"`
	Job       Converge        `json:"job"`
}

// ruleError is an answer other than 2xx to a rule's request.
type ruleError struct {
	api    string
	status int
	body   string
}

func (e *ruleError) Error() string {
	return fmt.Sprintf("engine: %s answered %d: %s", e.api, e.status, e.body)
}

// permanent tells an answer that sending again cannot change: a 4xx other
// than 408 and 429.
func (e *ruleError) permanent() bool {
	return e.status >= 400 && e.status < 500 && e.status != http.StatusRequestTimeout && e.status != http.StatusTooManyRequests
}

// ruleLane is the lane of the rule actions of a job's entity.
func ruleLane(a Converge) string {
	return "rule:" + a.Side + ":" + a.EntityKind + ":" + a.Tenant + ":" + a.ID
}

// ruleChange is what the rules see of a job's entity.
type ruleChange struct {
	// prev is the last snapshot (nil: never seen, or gone), cur the
	// re-read (nil: gone); version and snapshot are cur's.
	prev, cur map[string]any
	version   string
	snapshot  []byte
}

// applyRules is the rules' part of job a, after its flow: it re-reads the
// entity, names the triggers of its change since the last snapshot, plans
// the actions the rules ask for in the ledger, runs them and every earlier
// one of the entity still open, and stores the new snapshot with the job's
// completion.
func (c *Converger) applyRules(ctx context.Context, log *slog.Logger, l *ledger, a Converge, complete func(context.Context, *state.Tx) error) error {
	if !addressable(a.Side, a.EntityKind, a.ID, a.Parent) {
		// A kind the rules have no trigger for, or a child whose event did
		// not name its parent (the flow logged it; the poll names it).
		return c.done(ctx, l, complete)
	}
	ch, err := c.ruleChangeOf(ctx, a)
	if err != nil {
		return err
	}
	triggers := triggersOf(a.Side, a.EntityKind, ch.prev, ch.cur)
	if madeBySync(ch.cur) || ch.cur == nil && madeBySync(ch.prev) {
		// A record the sync made (flows or rules) triggers no rule: no
		// loops between rules of both directions.
		triggers = nil
	}
	open, err := c.db.OpenRuleEffects(ctx, ruleLane(a), maxOpenRuleEffects)
	if err != nil {
		return fmt.Errorf("engine: rules of %s: %w", a, err)
	}
	if len(triggers) > 0 || len(open) > 0 {
		if err := c.runRules(ctx, log, l, a, ch, triggers); err != nil {
			return err
		}
	}
	return c.db.Tx(ctx, func(tx *state.Tx) error {
		if err := tx.SaveSeen(ctx, state.Seen{API: a.Side, Kind: a.EntityKind, Tenant: a.Tenant, ID: a.ID,
			Version: ch.version, Snapshot: ch.snapshot, Gone: ch.cur == nil, UpdatedAt: c.now()}); err != nil {
			return fmt.Errorf("engine: rules of %s: %w", a, err)
		}
		return complete(ctx, tx)
	})
}

// madeBySync tells a record that carries the sync's marker: in
// externalIds.ghl, or in its body or description.
func madeBySync(rec map[string]any) bool {
	ext, _ := rec["externalIds"].(map[string]any)
	ghl, _ := ext["ghl"].(string)
	body, _ := rec["body"].(string)
	desc, _ := rec["description"].(string)
	return strings.HasPrefix(ghl, "cb:") || markerInText.MatchString(body) || markerInText.MatchString(desc)
}

// ReplayRule puts up to limit of rule's parked actions back to pending and
// enqueues the converge job of each one's entity, in one transaction; the
// jobs re-plan them on the entities' current state (a fixed rule makes
// the fixed request). It returns how many actions it put back.
func ReplayRule(ctx context.Context, db *state.DB, q Enqueuer, rule string, now time.Time, limit int) (int, error) {
	n := 0
	err := db.Tx(ctx, func(tx *state.Tx) error {
		parked, err := tx.ReplayRule(ctx, rule, now, limit)
		if err != nil {
			return err
		}
		for _, e := range parked {
			var req ruleRequest
			if err := json.Unmarshal(e.Request, &req); err != nil {
				return fmt.Errorf("engine: replay %s: %w", e.Key, err)
			}
			if _, err := q.Enqueue(ctx, tx, req.Job); err != nil {
				return fmt.Errorf("engine: replay %s: %w", e.Key, err)
			}
		}
		n = len(parked)
		return nil
	})
	return n, err
}

// ruleChangeOf reads job a's entity and its last snapshot.
func (c *Converger) ruleChangeOf(ctx context.Context, a Converge) (ruleChange, error) {
	var ch ruleChange
	var err error
	if ch.cur, err = c.readRecord(ctx, a.Side, a.EntityKind, a.ID, a.Parent); err != nil {
		return ch, err
	}
	if ch.version, err = versionOf(ch.cur); err != nil {
		return ch, err
	}
	if ch.cur != nil {
		if ch.snapshot, err = json.Marshal(ch.cur); err != nil {
			return ch, fmt.Errorf("engine: snapshot of %s: %w", a, err)
		}
	}
	seen, err := c.db.Seen(ctx, a.Side, a.EntityKind, a.Tenant, a.ID)
	switch {
	case errors.Is(err, state.ErrNotFound):
	case err != nil:
		return ch, fmt.Errorf("engine: rules of %s: %w", a, err)
	case !seen.Gone:
		if ch.prev, err = decodeRecord(seen.Snapshot); err != nil {
			return ch, fmt.Errorf("engine: last snapshot of %s: %w", a, err)
		}
	}
	return ch, nil
}

// runRules plans the actions the rules ask for on triggers, and runs them
// with the entity's other open ones, each re-planned from its trigger on
// the entity's current state.
func (c *Converger) runRules(ctx context.Context, log *slog.Logger, l *ledger, a Converge, ch ruleChange, triggers []string) error {
	in, err := c.ruleInput(ctx, a, ch)
	if err != nil {
		return err
	}
	planned := map[string][]RuleAction{}
	plan := func(trigger string) ([]RuleAction, error) {
		if acts, ok := planned[trigger]; ok {
			return acts, nil
		}
		in.Trigger = trigger
		acts, err := c.rules.Plan(in)
		if err != nil {
			return nil, fmt.Errorf("engine: rules on %s of %s: %w", trigger, a, err)
		}
		planned[trigger] = acts
		return acts, nil
	}
	if err := l.tx(ctx, func(tx *state.Tx) error {
		for _, trigger := range triggers {
			acts, err := plan(trigger)
			if err != nil {
				return err
			}
			for _, act := range acts {
				if err := c.planRuleAction(ctx, tx, a, trigger, act); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		return err
	}
	open, err := c.db.OpenRuleEffects(ctx, ruleLane(a), maxOpenRuleEffects)
	if err != nil {
		return fmt.Errorf("engine: rules of %s: %w", a, err)
	}
	for _, e := range open {
		var req ruleRequest
		if err := json.Unmarshal(e.Request, &req); err != nil {
			return fmt.Errorf("engine: rule effect %s: %w", e.Key, err)
		}
		acts, err := plan(req.Trigger)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(acts, func(act RuleAction) bool { return act.Rule == req.Rule && act.Action == req.Action })
		if i < 0 {
			log.InfoContext(ctx, "a rule no longer plans its action on the entity as it is now; parked", logkey.Effect, e.Key)
			if err := c.park(ctx, e.Key, "the rule no longer plans this action (its condition is false, or the rule changed)"); err != nil {
				return err
			}
			continue
		}
		next := requestOf(acts[i], req.Trigger, a)
		if why := invalidAction(next); why != "" {
			if err := c.park(ctx, e.Key, "the action cannot be sent: "+why); err != nil {
				return err
			}
			continue
		}
		if _, err := c.runEffect(ctx, l, effectRun{key: e.Key, call: c.ruleCall(e.Key, next)}); err != nil {
			return err
		}
	}
	return l.settle(ctx)
}

// park gives up on the open rule effect key for why (one finished
// meanwhile by another job is left as it is).
func (c *Converger) park(ctx context.Context, key, why string) error {
	if err := c.db.Park(ctx, key, state.Failure{Err: why}, c.now()); err != nil && !errors.Is(err, state.ErrConflict) {
		return fmt.Errorf("engine: park %s: %w", key, err)
	}
	return nil
}

// planRuleAction stores act, planned on trigger, in the ledger (left as it
// is when its key is planned already). An action that cannot be sent (an
// unknown API, a method or path missing, a body too large or not JSON) is
// parked at once with why.
func (c *Converger) planRuleAction(ctx context.Context, tx *state.Tx, a Converge, trigger string, act RuleAction) error {
	if act.Key == "" || act.Rule == "" {
		return fmt.Errorf("%w: rule %q action %q has no rule name or key", ErrInvalidConfig, act.Rule, act.Action)
	}
	req := requestOf(act, trigger, a)
	bad := invalidAction(req)
	if bad != "" {
		req.Body = nil
	}
	raw, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("engine: rule %s action %s: %w", act.Rule, act.Action, err)
	}
	e := state.Effect{Key: act.Key, Flow: state.RuleFlowPrefix + act.Rule, Target: req.API, Tenant: a.Tenant, Lane: ruleLane(a),
		Op: act.Operation, Request: raw, Marker: Marker(act.Key)}
	planned, err := tx.PlanEffect(ctx, e, c.now())
	if err != nil {
		return fmt.Errorf("engine: plan rule %s action %s: %w", act.Rule, act.Action, err)
	}
	if planned && bad != "" {
		return tx.Park(ctx, act.Key, state.Failure{Err: "the action cannot be sent: " + bad}, c.now())
	}
	return nil
}

// maxActionBody bounds a rule action's request body.
const maxActionBody = 1 << 20

// invalidAction tells why req cannot be sent; "" when it can.
func invalidAction(req ruleRequest) string {
	switch {
	case req.API != SideHighLevel && req.API != SideM360:
		return fmt.Sprintf("API %q is neither %s nor %s", req.API, APIHighLevel, SideM360)
	case req.Method == "" || !strings.HasPrefix(req.Path, "/"):
		return "no method, or a path that does not start with /"
	case len(req.Body) > maxActionBody:
		return fmt.Sprintf("a body of %d bytes, over %d", len(req.Body), maxActionBody)
	case len(req.Body) > 0 && !json.Valid(req.Body):
		return "a body that is not JSON"
	}
	return ""
}

// APIHighLevel is how a RuleAction names the HighLevel API (its side is
// SideHighLevel); Marketing 360's is SideM360.
const APIHighLevel = "highlevel"

// requestOf is act's request as the ledger stores it, its API as a side.
func requestOf(act RuleAction, trigger string, a Converge) ruleRequest {
	api := act.API
	if api == APIHighLevel {
		api = SideHighLevel
	}
	return ruleRequest{Rule: act.Rule, Action: act.Action, Trigger: trigger, API: api, Operation: act.Operation,
		Method: act.Method, Path: act.Path, Query: act.Query, Body: act.Body, Job: a}
}

// ruleInput is the change as the rules see it: the entity (its last
// snapshot when it is gone), its contact and their counterparts.
func (c *Converger) ruleInput(ctx context.Context, a Converge, ch ruleChange) (RuleInput, error) {
	in := RuleInput{Location: a.Tenant, Entity: a.EntityKind, ID: a.ID, Version: ch.version, Record: ch.cur}
	if a.Side == SideM360 {
		in.Location = c.location
	}
	if in.Record == nil {
		in.Record = ch.prev
	}
	var err error
	contactID := a.Parent
	if a.EntityKind == EntityContact {
		in.Contact, contactID = in.Record, a.ID
	} else if in.Record != nil {
		if id := stringField(in.Record, "contactId"); id != "" {
			contactID = id
		}
		if in.Contact, err = c.readRecord(ctx, a.Side, EntityContact, contactID, ""); err != nil {
			return in, err
		}
	}
	other, mappedContact, err := c.counterpartOf(ctx, a.Side, a.Tenant, EntityContact, contactID, in.Contact)
	if err != nil {
		return in, err
	}
	if mappedContact != "" {
		if in.MappedContact, err = c.readRecord(ctx, other, EntityContact, mappedContact, ""); err != nil {
			return in, err
		}
	}
	if a.EntityKind == EntityContact {
		in.Mapped = in.MappedContact
		return in, nil
	}
	kind := counterpartKind(a.EntityKind)
	_, mapped, err := c.counterpartOf(ctx, a.Side, a.Tenant, a.EntityKind, a.ID, nil)
	if err != nil || mapped == "" || mappedContact == "" {
		return in, err
	}
	in.Mapped, err = c.readRecord(ctx, other, kind, mapped, mappedContact)
	return in, err
}

// stringField is a record's string or number field as a string; "" when
// it has none.
func stringField(rec map[string]any, key string) string {
	switch v := rec[key].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	}
	return ""
}

// counterpartKind is the kind of an entity's counterpart: an appointment's
// is an event, an event's an appointment, the others the same kind.
func counterpartKind(kind string) string {
	switch kind {
	case EntityAppointment:
		return EntityEvent
	case EntityEvent:
		return EntityAppointment
	}
	return kind
}

// counterpartOf is the other side and the id of the counterpart of an
// entity of kind with id on side ("" when it has none): by its mapping
// (kept under the HighLevel kind), or for a Marketing 360 contact its
// externalIds.ghl (rec).
func (c *Converger) counterpartOf(ctx context.Context, side, tenant, kind, id string, rec map[string]any) (string, string, error) {
	if id == "" {
		return "", "", nil
	}
	if side == SideHighLevel {
		m, err := c.mapping(ctx, kind, tenant, id, "")
		return SideM360, m.M360ID, err
	}
	if ext, ok := rec["externalIds"].(map[string]any); ok {
		if ghl, ok := ext["ghl"].(string); ok && ghl != "" && !strings.HasPrefix(ghl, "cb:") {
			return SideHighLevel, ghl, nil
		}
	}
	if c.location == "" {
		return SideHighLevel, "", nil
	}
	m, err := c.mapping(ctx, counterpartKind(kind), c.location, "", id)
	return SideHighLevel, m.HLID, err
}

// recordPaths are where each kind of record is read, and under which key
// of the answer it is.
var recordPaths = map[string]struct{ path, key string }{
	SideHighLevel + "." + EntityContact:     {"/contacts/{id}", "contact"},
	SideHighLevel + "." + EntityTask:        {"/contacts/{parent}/tasks/{id}", "task"},
	SideHighLevel + "." + EntityNote:        {"/contacts/{parent}/notes/{id}", "note"},
	SideHighLevel + "." + EntityAppointment: {"/calendars/events/appointments/{id}", "event"},
	SideM360 + "." + EntityContact:          {"/v1/contacts/{id}", "result"},
	SideM360 + "." + EntityTask:             {"/v1/contacts/{parent}/tasks/{id}", "result"},
	SideM360 + "." + EntityNote:             {"/v1/contacts/{parent}/notes/{id}", "result"},
	SideM360 + "." + EntityEvent:            {"/v1/calendar/events/{id}", "result"},
}

// addressable tells whether a record can be read: its kind has a path,
// and its parent is known when the path needs one.
func addressable(side, kind, id, parent string) bool {
	p, ok := recordPaths[side+"."+kind]
	return ok && id != "" && (parent != "" || !strings.Contains(p.path, "{parent}"))
}

// readRecord reads a record through its API as JSON; nil when it is gone
// (404, or a HighLevel contact marked deleted) or cannot be addressed.
func (c *Converger) readRecord(ctx context.Context, side, kind, id, parent string) (map[string]any, error) {
	if !addressable(side, kind, id, parent) {
		return nil, nil
	}
	p := recordPaths[side+"."+kind]
	path := strings.NewReplacer("{id}", url.PathEscape(id), "{parent}", url.PathEscape(parent)).Replace(p.path)
	status, body, err := c.send(ctx, side, http.MethodGet, path, nil, nil)
	switch {
	case err != nil:
		return nil, err
	case status == http.StatusNotFound:
		return nil, nil
	case status/100 != 2:
		return nil, &ruleError{api: side, status: status, body: truncate(body)}
	}
	answer, err := decodeRecord(body)
	if err != nil {
		return nil, fmt.Errorf("engine: read %s %s %s: %w", side, kind, id, err)
	}
	rec, _ := answer[p.key].(map[string]any)
	if rec == nil || rec["deleted"] == true {
		return nil, nil
	}
	return rec, nil
}

// decodeRecord decodes a JSON object, its numbers kept as they are written.
func decodeRecord(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}

// send makes one request to side's API and returns the answer's status
// and body (read up to maxRuleBody). HighLevel requests carry the Version
// their route documents.
func (c *Converger) send(ctx context.Context, side, method, path string, query url.Values, body []byte) (int, []byte, error) {
	r, ok := c.requesters[side]
	if !ok {
		return 0, nil, fmt.Errorf("%w: no requester for the %s API", ErrInvalidConfig, side)
	}
	u := strings.TrimSuffix(r.BaseURL, "/") + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, fmt.Errorf("engine: %s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if side == SideHighLevel {
		if err := highlevelapi.SetRouteVersion(ctx, req); err != nil {
			return 0, nil, fmt.Errorf("engine: %s %s: %w", method, path, err)
		}
	}
	res, err := r.Client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("engine: %s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxRuleBody))
	if err != nil {
		return 0, nil, fmt.Errorf("engine: %s %s: read the answer: %w", method, path, err)
	}
	return res.StatusCode, raw, nil
}

// truncate is an error body as a parked action keeps it.
func truncate(body []byte) string {
	s := strings.TrimSpace(string(body))
	if len(s) > maxErrorBody {
		s = s[:maxErrorBody] + "…"
	}
	return s
}

// ruleCall is how to run a rule's request req under effect key: a PUT,
// DELETE or campaign trigger is sent again as it is; a create that can
// carry a marker carries Marker(key) (or the externalIds.ghl its template
// set) and is looked up by it before any second send; any other create is
// sent at most once (an unknown outcome parks it).
func (c *Converger) ruleCall(key string, req ruleRequest) effectCall {
	body := []byte(req.Body)
	if len(body) == 0 {
		body = nil
	}
	call := effectCall{create: func(ctx context.Context) (string, int, error) {
		status, answer, err := c.send(ctx, req.API, req.Method, req.Path, req.Query, body)
		if err != nil {
			return "", 0, err
		}
		if status/100 != 2 {
			return "", status, &ruleError{api: req.API, status: status, body: truncate(answer)}
		}
		return idOf(answer), status, nil
	}}
	if req.Method != http.MethodPost || slices.Contains(idempotentOps, req.Operation) {
		return call
	}
	marker, marked := "", false
	var lookup url.Values
	switch {
	case req.API == SideM360 && body != nil:
		marker, body, marked = markExternalID(body, Marker(key), slices.Contains(markedByExternalID, req.Operation))
		lookup = url.Values{"externalId": {marker}}
	case req.API == SideHighLevel && body != nil && slices.Contains(markedInBody, req.Operation):
		marker = "[" + Marker(key) + "]"
		body, marked = markBody(body, marker)
	}
	if !marked {
		call.atMostOnce = true
		return call
	}
	call.find = func(ctx context.Context) (string, error) {
		status, answer, err := c.send(ctx, req.API, http.MethodGet, req.Path, lookup, nil)
		if err != nil {
			return "", err
		}
		if status/100 != 2 {
			return "", &ruleError{api: req.API, status: status, body: truncate(answer)}
		}
		return findMarked(answer, marker), nil
	}
	return call
}

// markExternalID sets externalIds.ghl of a JSON object body to marker,
// when settable (the operation's record carries it) and not set by the
// template already; it returns the marker to look the record up by ("" and
// false when there is none).
func markExternalID(body []byte, marker string, settable bool) (string, []byte, bool) {
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return "", body, false
	}
	ext, _ := obj["externalIds"].(map[string]any)
	if ghl, ok := ext["ghl"].(string); ok && ghl != "" {
		return ghl, body, true
	}
	if !settable {
		return "", body, false
	}
	if ext == nil {
		ext = map[string]any{}
	}
	ext["ghl"] = marker
	obj["externalIds"] = ext
	out, err := json.Marshal(obj)
	if err != nil {
		return "", body, false
	}
	return marker, out, true
}

// markBody ends the "body" text of a JSON object body with marker on a
// line of its own (a body made for it when there is none).
func markBody(body []byte, marker string) ([]byte, bool) {
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return body, false
	}
	text, _ := obj["body"].(string)
	obj["body"] = strings.TrimSpace(text + "\n\n" + marker)
	out, err := json.Marshal(obj)
	if err != nil {
		return body, false
	}
	return out, true
}

// findMarked is the id of the first record of a list answer (its first
// array, at the top or under one key) that carries marker, in
// externalIds.ghl or its body; "" for none.
func findMarked(answer []byte, marker string) string {
	top, err := decodeRecord(answer)
	if err != nil {
		return ""
	}
	for _, v := range top {
		items, ok := v.([]any)
		if !ok {
			continue
		}
		for _, it := range items {
			rec, _ := it.(map[string]any)
			ext, _ := rec["externalIds"].(map[string]any)
			text, _ := rec["body"].(string)
			if ext["ghl"] == marker || strings.Contains(text, marker) {
				return stringField(rec, "id")
			}
		}
	}
	return ""
}

// idOf is the id of the record an answer holds: its "id", or that of the
// object under its one key (result, note, task, contact); "" for none.
func idOf(answer []byte) string {
	top, err := decodeRecord(answer)
	if err != nil {
		return ""
	}
	if id := stringField(top, "id"); id != "" {
		return id
	}
	for _, v := range top {
		if rec, ok := v.(map[string]any); ok && rec["id"] != nil {
			return stringField(rec, "id")
		}
	}
	return ""
}

// parkUnknown parks the effect key, just started (as e was when it
// started), whose earlier try's outcome is unknown: its create cannot be
// looked up, so it is not sent again (at most once).
func (c *Converger) parkUnknown(ctx context.Context, l *ledger, key string, e state.Effect) error {
	c.log.WarnContext(ctx, "a rule's create whose outcome is unknown and that cannot be looked up; parked, not sent again", logkey.Effect, key)
	f := state.Failure{Err: "outcome unknown (" + e.LastError + "); not sent again: check the target, then sync replay --rule sends it",
		Status: e.LastStatus, OutcomeUnknown: true}
	if err := l.tx(ctx, func(tx *state.Tx) error { return tx.Park(ctx, key, f, c.now()) }); err != nil {
		return fmt.Errorf("engine: park %s: %w", key, err)
	}
	return nil
}
