package mock_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/contactbridge/contactbridge/mock"
)

func TestTwins_EachServesItsOwnSpec(t *testing.T) {
	t.Parallel()
	srv, err := mock.NewServer(mock.Options{NoListener: true, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	for name, tc := range map[string]struct {
		twin  *mock.Twin
		title string
	}{
		"highlevel": {srv.HighLevel, "title: HighLevel Contacts API v2"},
		"m360":      {srv.M360, "title: Marketing 360 API"},
	} {
		res, err := tc.twin.Client().Get(tc.twin.URL() + "/openapi.yaml")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/yaml" ||
			!bytes.Equal(body, tc.twin.Spec().Source()) || !bytes.Contains(body, []byte(tc.title)) {
			t.Errorf("%s: GET /openapi.yaml: %d %s, %d bytes; want its own spec", name, res.StatusCode,
				res.Header.Get("Content-Type"), len(body))
		}
	}
}
