package mock_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock"
	"github.com/contactbridge/contactbridge/mock/webhooks"
)

// nodeScript is the receiver written with Node's standard library only.
const nodeScript = "testdata/webhooks/verify.mjs"

// nodeInput is what verify.mjs reads.
type nodeInput struct {
	Ed25519    string         `json:"ed25519"`
	RSA        string         `json:"rsa"`
	Deliveries []nodeDelivery `json:"deliveries"`
}

type nodeDelivery struct {
	Twin    string            `json:"twin"`
	Headers map[string]string `json:"headers"`
	Body    []byte            `json:"body"` // base64 in JSON
	Secret  string            `json:"secret"`
}

// nodeResult is one line verify.mjs prints.
type nodeResult struct {
	Index  int            `json:"index"`
	OK     bool           `json:"ok"`
	Checks map[string]any `json:"checks"`
}

// nodeVerify runs verify.mjs on in and returns its lines and exit code.
func nodeVerify(t *testing.T, node string, in nodeInput) ([]nodeResult, int) {
	t.Helper()
	buf, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	file, err := os.CreateTemp(t.TempDir(), "input-*.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := file.Write(buf); err != nil {
		t.Fatal(err)
	}
	if err := file.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, nodeScript, file.Name())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	code := 0
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("node %s: %v; stderr: %s", nodeScript, ctx.Err(), stderr.Bytes())
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("node %s: %v", nodeScript, err)
	}
	if stderr.Len() > 0 {
		t.Errorf("node %s wrote to stderr: %s", nodeScript, stderr.Bytes())
	}
	var out []nodeResult
	lines := bufio.NewScanner(&stdout)
	for lines.Scan() {
		var r nodeResult
		if err := json.Unmarshal(lines.Bytes(), &r); err != nil {
			t.Fatalf("node %s printed %q: %v", nodeScript, lines.Text(), err)
		}
		out = append(out, r)
	}
	if len(out) != len(in.Deliveries) {
		t.Fatalf("node %s printed %d lines for %d deliveries (exit %d): %s", nodeScript, len(out), len(in.Deliveries), code, stdout.Bytes())
	}
	for i, r := range out {
		if r.Index != i {
			t.Fatalf("line %d is about delivery %d", i, r.Index)
		}
	}
	return out, code
}

// nodeChecks are the checks a delivery of twin must show.
func nodeChecks(twin string) []string {
	if twin == "m360" {
		return []string{"x-m360-signature"}
	}
	return []string{"x-ghl-signature", "x-wh-signature"}
}

// nodeMustShow fails the test unless every check of r is want, and r
// holds exactly the checks its twin needs.
func nodeMustShow(t *testing.T, what string, in nodeInput, out []nodeResult, want bool) {
	t.Helper()
	for i, r := range out {
		d := in.Deliveries[i]
		names := slices.Sorted(maps.Keys(r.Checks))
		if !slices.Equal(names, nodeChecks(d.Twin)) {
			t.Errorf("%s: delivery %d (%s %.60s): checks %v, want %v", what, i, d.Twin, d.Body, r.Checks, nodeChecks(d.Twin))
			continue
		}
		for name, v := range r.Checks {
			if v != want {
				t.Errorf("%s: delivery %d (%s %.60s): %s is %v, want %v", what, i, d.Twin, d.Body, name, v, want)
			}
		}
		if r.OK != want {
			t.Errorf("%s: delivery %d (%s): ok %v, want %v", what, i, d.Twin, r.OK, want)
		}
	}
}

// TestNode_VerifiesEverySignature: a receiver written with nothing but
// Node's node:crypto verifies every signature both twins send, from the
// public keys the twin serves (HighLevel) and the secret its subscription
// was given (Marketing 360); a body changed by one byte, or a wrong secret,
// fails.
func TestNode_VerifiesEverySignature(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CONTACTBRIDGE_REQUIRE_NODE") == "1" {
			t.Fatalf("CONTACTBRIDGE_REQUIRE_NODE=1 but node is not on PATH: %v", err)
		}
		t.Skipf("node is not on PATH (%v): skipping the Node.js receiver; set CONTACTBRIDGE_REQUIRE_NODE=1 to fail instead", err)
	}
	t.Parallel()

	e := newHookEnv(t, mock.Options{Webhooks: mock.WebhookOptions{RSA: true}})
	hl, m, srv := e.hl, e.m, e.srv

	// The keys the twin serves are the ones it signs with.
	pub := srv.Webhooks().Keys().Public()
	served := mustDo[webhooks.PublicKeys](t, hl, "GET", "/__admin/webhooks/keys", nil, http.StatusOK)
	if served != pub {
		t.Fatalf("GET /__admin/webhooks/keys serves %+v; the twin signs with %+v", served, pub)
	}
	if !strings.HasPrefix(served.Ed25519, "-----BEGIN PUBLIC KEY-----\n") || !strings.HasPrefix(served.RSA, "-----BEGIN PUBLIC KEY-----\n") {
		t.Fatalf("keys are not PEM public keys: %+v", served)
	}

	// HighLevel: ContactCreate, ContactUpdate, ContactTagUpdate, TaskCreate.
	c := hl.mustCreateContact(t, jsonObj{"firstName": "Ada", "email": "ada@example.com"})
	mustDo[wireContactEnvelope](t, hl, "PUT", "/contacts/"+c.ID, jsonObj{"firstName": "Augusta"}, http.StatusOK)
	mustStatus(t, hl.do(t, "POST", "/contacts/"+c.ID+"/tags", jsonObj{"tags": []string{"vip"}}), http.StatusCreated)
	mustDo[struct{ Task wireTask }](t, hl, "POST", "/contacts/"+c.ID+"/tasks",
		jsonObj{"title": "Call", "dueDate": "2026-01-02T10:00:00Z", "completed": false}, http.StatusCreated)
	// Marketing 360: contact.created, contact.updated.
	hook := e.subscribeM360(t, "contact.created", "contact.updated")
	secret := *hook.Secret
	mc := m.mustContact(t, jsonObj{"firstName": "Ada", "email": "ada@example.com"})
	m360Must[m360Result[m360Contact]](t, m, "PUT", fmt.Sprintf("/v1/contacts/%d", mc.ID),
		jsonObj{"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"}, http.StatusOK)

	got := e.rcv.take(t, 6)

	var ghl, m360Got []hookDelivery
	for _, g := range got {
		switch g.path {
		case "/ghl":
			ghl = append(ghl, g)
		case "/m360":
			m360Got = append(m360Got, g)
		default:
			t.Fatalf("a delivery to %s: %s", g.path, g.body)
		}
	}
	var types []string
	for _, g := range ghl {
		types = append(types, g.str("type"))
	}
	if want := []string{"ContactCreate", "ContactUpdate", "ContactTagUpdate", "TaskCreate"}; !slices.Equal(types, want) {
		t.Fatalf("HighLevel delivered %v, want %v", types, want)
	}
	types = nil
	for _, g := range m360Got {
		types = append(types, g.str("type"))
		// t= is when the attempt was made: the twin's clock, which stands still.
		sig := g.header.Get("X-M360-Signature")
		if want := "t=" + strconv.FormatInt(e.clk.Now().Unix(), 10) + ",v1="; !strings.HasPrefix(sig, want) {
			t.Errorf("%s is %q, want it to start with %q", "X-M360-Signature", sig, want)
		}
	}
	if want := []string{"contact.created", "contact.updated"}; !slices.Equal(types, want) {
		t.Fatalf("Marketing 360 delivered %v, want %v", types, want)
	}

	// What arrived is what the twin's delivery log shows, and nothing more.
	logged := mustDo[struct {
		Deliveries []webhooks.Delivery `json:"deliveries"`
		Total      int                 `json:"total"`
	}](t, hl, "GET", "/__admin/webhooks/deliveries", nil, http.StatusOK)
	if logged.Total != len(got) {
		t.Errorf("the delivery log holds %d deliveries; %d arrived", logged.Total, len(got))
	}
	for _, d := range logged.Deliveries {
		var want any
		if err := json.Unmarshal(d.Body, &want); err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(got, func(g hookDelivery) bool {
			var have any
			return json.Unmarshal(g.body, &have) == nil && reflect.DeepEqual(have, want)
		}) {
			t.Errorf("logged delivery %s (%s %s) did not arrive as logged: %s", d.ID, d.Twin, d.Event, d.Body)
		}
	}

	in := nodeInput{Ed25519: served.Ed25519, RSA: served.RSA}
	for _, g := range got {
		d := nodeDelivery{Twin: "highlevel", Headers: map[string]string{}, Body: g.body}
		if g.path == "/m360" {
			d.Twin, d.Secret = "m360", secret
		}
		for name := range g.header {
			d.Headers[strings.ToLower(name)] = g.header.Get(name)
		}
		in.Deliveries = append(in.Deliveries, d)
	}

	t.Run("every signature verifies", func(t *testing.T) {
		out, code := nodeVerify(t, node, in)
		nodeMustShow(t, "as sent", in, out, true)
		if code != 0 {
			t.Errorf("verify.mjs exited %d on the deliveries as sent", code)
		}
	})

	t.Run("one byte changed fails", func(t *testing.T) {
		bad := in
		bad.Deliveries = slices.Clone(in.Deliveries)
		for i := range bad.Deliveries {
			body := bytes.Clone(bad.Deliveries[i].Body)
			body[len(body)/2] ^= 0x01
			bad.Deliveries[i].Body = body
		}
		out, code := nodeVerify(t, node, bad)
		nodeMustShow(t, "one byte changed", bad, out, false)
		if code == 0 {
			t.Error("verify.mjs exited 0 on changed bodies")
		}
	})

	t.Run("a wrong secret fails", func(t *testing.T) {
		bad := in
		bad.Deliveries = slices.Clone(in.Deliveries)
		for i := range bad.Deliveries {
			if bad.Deliveries[i].Twin == "m360" {
				bad.Deliveries[i].Secret = secret[:len(secret)-1] + "x"
				if bad.Deliveries[i].Secret == secret {
					bad.Deliveries[i].Secret = secret[:len(secret)-1] + "y"
				}
			}
		}
		out, code := nodeVerify(t, node, bad)
		for i, r := range out {
			if want := bad.Deliveries[i].Twin != "m360"; r.OK != want {
				t.Errorf("delivery %d (%s) with a wrong Marketing 360 secret: ok %v, want %v; checks %v",
					i, bad.Deliveries[i].Twin, r.OK, want, r.Checks)
			}
		}
		if code == 0 {
			t.Error("verify.mjs exited 0 with a wrong secret")
		}
	})
}
