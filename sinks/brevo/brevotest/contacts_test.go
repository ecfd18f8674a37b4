package brevotest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/tajo/tajo/sinks/brevo/brevotest"
)

// GET /v3/contacts answers the way Brevo documents it, so the first-run
// hint (curl …/v3/contacts) shows the contacts tajo wrote.
func TestListContacts(t *testing.T) {
	srv := brevotest.New(brevotest.Options{Lists: map[int64]string{5: "all"}})
	defer srv.Close()
	for i := 1; i <= 3; i++ {
		srv.PutContact(brevotest.Contact{Email: fmt.Sprintf("c%d@example.com", i), ExtID: fmt.Sprint(i), ListIDs: []int64{5},
			Attributes: map[string]any{"FIRSTNAME": fmt.Sprint("C", i)}})
	}
	srv.PutContact(brevotest.Contact{Email: "nolist@example.com"})
	get := func(query string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL()+"/contacts"+query, nil)
		req.Header.Set("api-key", srv.APIKey())
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body map[string]any
		json.NewDecoder(res.Body).Decode(&body)
		return res.StatusCode, body
	}
	emails := func(body map[string]any) []string {
		var out []string
		for _, c := range body["contacts"].([]any) {
			out = append(out, c.(map[string]any)["email"].(string))
		}
		return out
	}
	status, body := get("")
	if status != http.StatusOK || body["count"] != float64(4) || fmt.Sprint(emails(body)) != "[nolist@example.com c3@example.com c2@example.com c1@example.com]" {
		t.Fatalf("GET /contacts = %d %v", status, body)
	}
	first := body["contacts"].([]any)[3].(map[string]any)
	for _, k := range []string{"id", "email", "emailBlacklisted", "smsBlacklisted", "createdAt", "modifiedAt", "listIds", "attributes"} {
		if _, ok := first[k]; !ok {
			t.Errorf("a contact lacks %q: %v", k, first)
		}
	}
	if _, body = get("?limit=2&offset=1&sort=asc"); body["count"] != float64(4) || fmt.Sprint(emails(body)) != "[c2@example.com c3@example.com]" {
		t.Fatalf("limit=2&offset=1&sort=asc: %v", body)
	}
	if _, body = get("?listIds=5&limit=1"); body["count"] != float64(3) || len(emails(body)) != 1 {
		t.Fatalf("listIds=5: %v", body)
	}
	if _, body = get("?modifiedSince=2999-01-01T00:00:00.000Z"); body["count"] != float64(0) || len(body["contacts"].([]any)) != 0 {
		t.Fatalf("modifiedSince in the future: %v", body)
	}
	if status, _ = get("?limit=1001"); status != http.StatusBadRequest {
		t.Fatalf("limit=1001: %d, want 400", status)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL()+"/contacts", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without the key: %d, want 401", res.StatusCode)
	}
}
