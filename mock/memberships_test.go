package mock_test

// End-to-end tests of a contact's campaign and workflow memberships:
// POST|DELETE /contacts/{contactId}/campaigns/{campaignId},
// DELETE /contacts/{contactId}/campaigns/removeAll and
// POST|DELETE /contacts/{contactId}/workflow/{workflowId}.

import (
	"net/http"
	"slices"
	"testing"
)

func TestContacts_CampaignsAndWorkflows(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	c := e.mustCreateContact(t, jsonObj{"firstName": "Cam"})
	base := "/contacts/" + c.ID
	steps := []struct {
		name, method, path string
		body               any
		status             int
		campaigns          []string
		workflows          []string
	}{
		{"add to a campaign", "POST", "/campaigns/camp-1", jsonObj{}, http.StatusCreated, []string{"camp-1"}, nil},
		{"add to it again", "POST", "/campaigns/camp-1", jsonObj{}, http.StatusCreated, []string{"camp-1"}, nil},
		{"add to another", "POST", "/campaigns/camp-2", jsonObj{}, http.StatusCreated, []string{"camp-1", "camp-2"}, nil},
		{"remove from one", "DELETE", "/campaigns/camp-1", nil, http.StatusOK, []string{"camp-2"}, nil},
		{"add to a workflow", "POST", "/workflow/wf-1", jsonObj{"eventStartTime": "2021-06-23T03:30:00+01:00"}, http.StatusOK, []string{"camp-2"}, []string{"wf-1"}},
		{"add to another workflow", "POST", "/workflow/wf-2", jsonObj{}, http.StatusOK, []string{"camp-2"}, []string{"wf-1", "wf-2"}},
		{"remove from every campaign", "DELETE", "/campaigns/removeAll", nil, http.StatusOK, nil, []string{"wf-1", "wf-2"}},
		{"remove from a workflow", "DELETE", "/workflow/wf-1", jsonObj{}, http.StatusOK, nil, []string{"wf-2"}},
		{"remove from one it is not in", "DELETE", "/workflow/wf-9", jsonObj{}, http.StatusOK, nil, []string{"wf-2"}},
	}
	for _, s := range steps {
		r := e.do(t, s.method, base+s.path, s.body)
		mustStatus(t, r, s.status)
		if got := mustDecode[wireDeleted](t, r); got.Succeded == nil || !*got.Succeded {
			t.Errorf("%s: answered %s, want {\"succeded\":true}", s.name, r.body)
		}
		stored, err := e.srv.Store().Contact(c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(stored.Campaigns, s.campaigns) || !slices.Equal(stored.Workflows, s.workflows) {
			t.Errorf("%s: campaigns %q workflows %q, want %q and %q", s.name, stored.Campaigns, stored.Workflows, s.campaigns, s.workflows)
		}
	}
	// Another location's token may not change them.
	_, otherToken := e.addLocation(t, "MembershipsOtherLoc0", false)
	r := e.call(t, apiRequest{method: "POST", path: base + "/campaigns/camp-3", body: jsonObj{}, token: otherToken})
	mustError(t, r, http.StatusForbidden, "The token does not have access to this location.")
}
