package mock_test

// End-to-end tests of a contact's followers: POST and DELETE
// /contacts/{contactId}/followers, and the followers of list items.

import (
	"net/http"
	"slices"
	"testing"
)

func TestContacts_Followers(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	c := e.mustCreateContact(t, jsonObj{"firstName": "Fay"})
	type followersBody struct {
		Followers        []string `json:"followers"`
		FollowersAdded   []string `json:"followersAdded"`
		FollowersRemoved []string `json:"followersRemoved"`
	}
	steps := []struct {
		name, method string
		given        []string
		status       int
		want         []string
		changed      []string
	}{
		{"add keeps each once, trimmed", "POST", []string{"user-1", " user-2 ", "user-1"}, http.StatusCreated, []string{"user-1", "user-2"}, []string{"user-1", "user-2"}},
		{"add answers only the new", "POST", []string{"user-2", "user-3"}, http.StatusCreated, []string{"user-1", "user-2", "user-3"}, []string{"user-3"}},
		{"remove answers only the removed", "DELETE", []string{"user-1", "absent"}, http.StatusOK, []string{"user-2", "user-3"}, []string{"user-1"}},
		{"remove none", "DELETE", []string{"absent"}, http.StatusOK, []string{"user-2", "user-3"}, []string{}},
	}
	for _, s := range steps {
		got := mustDo[followersBody](t, e, s.method, "/contacts/"+c.ID+"/followers", jsonObj{"followers": s.given}, s.status)
		changed := got.FollowersAdded
		if s.method == "DELETE" {
			changed = got.FollowersRemoved
		}
		if !slices.Equal(got.Followers, s.want) || !slices.Equal(changed, s.changed) {
			t.Errorf("%s: followers %q changed %q, want %q and %q", s.name, got.Followers, changed, s.want, s.changed)
		}
	}
	// List items show them; the full contact (as the vendor's) has none.
	var listed []string
	for _, lc := range mustListAll(t, e, e.loc.ID, e.token) {
		if lc.ID == c.ID {
			listed = lc.Followers
		}
	}
	if !slices.Equal(listed, []string{"user-2", "user-3"}) {
		t.Errorf("listed followers %q", listed)
	}
	// A follower change is an update.
	after := mustDo[wireContactEnvelope](t, e, "GET", "/contacts/"+c.ID, nil, http.StatusOK).Contact
	if after.DateUpdated == c.DateUpdated {
		t.Errorf("dateUpdated %s did not move", after.DateUpdated)
	}
	// Another location's token may not change them.
	_, otherToken := e.addLocation(t, "FollowersOtherLoc000", false)
	r := e.call(t, apiRequest{method: "POST", path: "/contacts/" + c.ID + "/followers", body: jsonObj{"followers": []string{"x"}}, token: otherToken})
	mustError(t, r, http.StatusForbidden, "The token does not have access to this location.")
}
