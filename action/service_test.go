package action

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
)

// captureStore keeps what Submit asks it to store; the service's own logic
// (which messages an action gets) is what this test is about.
type captureStore struct{ got []NewAction }

func (c *captureStore) Insert(_ context.Context, a NewAction) (*Action, []byte, bool, error) {
	c.got = append(c.got, a)
	return nil, nil, true, nil
}
func (c *captureStore) Get(context.Context, uuid.UUID) (*Action, error) { return nil, ErrNotFound }
func (c *captureStore) List(context.Context, ListFilter) (Page, error)  { return Page{}, nil }

type routeTo []Destination

func (r routeTo) Route(*Submission) []Destination { return r }
func (r routeTo) RulesVersion() string            { return "test-rules-7" }

func TestSubmitMessagesFollowTheRouter(t *testing.T) {
	body, err := json.Marshal(baseSubmission(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		router      Router
		want        []Destination
		wantVersion string
	}{
		{"no router: the kind table", nil, []Destination{DestMigrationService, DestNationalRegistry}, ""},
		{"a router's choice, in its order", routeTo{DestNationalRegistry, "military", DestMigrationService},
			[]Destination{DestNationalRegistry, "military", DestMigrationService}, "test-rules-7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &captureStore{}
			svc := NewService(st, func() time.Time { return time.Now() }, nil)
			if tc.router != nil {
				svc.SetRouter(tc.router)
			}
			if _, _, err := svc.Submit(context.Background(), "reg", "k1", body); err != nil {
				t.Fatal(err)
			}
			var got []Destination
			for _, m := range st.got[0].Messages {
				got = append(got, m.Destination)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("messages to %v, want %v", got, tc.want)
			}
			if v := st.got[0].RoutingVersion; v != tc.wantVersion {
				t.Errorf("stored routing version %q, want %q", v, tc.wantVersion)
			}
		})
	}
}
