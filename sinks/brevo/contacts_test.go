package brevo_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/sinks/brevo"
	"github.com/tajo/tajo/sinks/brevo/brevotest"
)

func TestUpsertContactCreatesThenUpdates(t *testing.T) {
	srv, c := newPair(t, brevotest.Options{})
	ctx := context.Background()
	ct := brevo.Contact{
		Email: "zoe@example.com", ExtID: "gid://shopify/Customer/1",
		Attributes:       map[string]any{"FIRSTNAME": "Zoë", "LASTNAME": "山田 🎉"},
		EmailBlacklisted: brevo.Bool(false), ListIDs: []int64{1},
	}
	res, err := c.UpsertContact(ctx, ct)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || res.ID == 0 {
		t.Fatalf("first upsert = %+v, want created with an id", res)
	}
	ct.Attributes["LASTNAME"] = "Müller-Lüdenscheidt"
	res, err = c.UpsertContact(ctx, ct)
	if err != nil {
		t.Fatal(err)
	}
	if res.Created {
		t.Fatalf("second upsert created again: %+v", res)
	}
	got := srv.Contact("ZOE@example.com")
	if got == nil || got.ExtID != ct.ExtID || got.Attributes["FIRSTNAME"] != "Zoë" || got.Attributes["LASTNAME"] != "Müller-Lüdenscheidt" {
		t.Fatalf("stored contact = %+v", got)
	}
	if m := srv.ListMembers(1); len(m) != 1 || m[0] != "zoe@example.com" {
		t.Fatalf("list 1 members = %v", m)
	}
	if n := len(srv.Contacts()); n != 1 {
		t.Fatalf("%d contacts, want 1", n)
	}
}

func TestCreateContactDuplicateIsRejected(t *testing.T) {
	_, c := newPair(t, brevotest.Options{})
	ctx := context.Background()
	if _, err := c.CreateContact(ctx, brevo.Contact{Email: "a@example.com"}); err != nil {
		t.Fatal(err)
	}
	_, err := c.CreateContact(ctx, brevo.Contact{Email: "a@example.com"})
	wantClass(t, err, pipeline.Rejected, "duplicate_parameter")
	if !brevo.IsDuplicate(err) {
		t.Fatalf("IsDuplicate false for %v", err)
	}
}

func TestInvalidEmailIsRejectedWithBrevoMessage(t *testing.T) {
	_, c := newPair(t, brevotest.Options{})
	for _, email := range []string{"not-an-email", "a@b", "two@@example.com", "sp ace@example.com", "ctl\x07@example.com"} {
		_, err := c.UpsertContact(context.Background(), brevo.Contact{Email: email})
		wantClass(t, err, pipeline.Rejected, "invalid_parameter")
		if !strings.Contains(err.Error(), "Invalid email address") {
			t.Fatalf("%q: error %q does not carry Brevo's message", email, err)
		}
	}
}

func TestContactWithoutIdentifierIsRejectedBeforeSending(t *testing.T) {
	srv, c := newPair(t, brevotest.Options{})
	_, err := c.UpsertContact(context.Background(), brevo.Contact{ExtID: "42"})
	wantClass(t, err, pipeline.Rejected, "missing_parameter")
	if n := srv.RequestCount("POST /contacts"); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
}

func TestGetContactByEachIdentifier(t *testing.T) {
	_, c := newPair(t, brevotest.Options{})
	ctx := context.Background()
	res, err := c.UpsertContact(ctx, brevo.Contact{Email: "a+tag@example.com", ExtID: "1234",
		Attributes: map[string]any{"SMS": "+33612345678"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id  string
		typ brevo.IdentifierType
	}{
		{"a+tag@example.com", brevo.ByEmail},
		{"a+tag@example.com", ""},
		{"1234", brevo.ByExtID},
		{"+33612345678", brevo.ByPhone},
		{strconv.FormatInt(res.ID, 10), brevo.ByContactID},
	} {
		got, err := c.GetContact(ctx, tc.id, tc.typ)
		if err != nil {
			t.Fatalf("%s/%s: %v", tc.id, tc.typ, err)
		}
		if got.Email != "a+tag@example.com" || got.ID != res.ID {
			t.Fatalf("%s/%s: got %+v", tc.id, tc.typ, got)
		}
	}
	_, err = c.GetContact(ctx, "nobody@example.com", brevo.ByEmail)
	wantClass(t, err, pipeline.Rejected, "document_not_found")
	if !brevo.IsNotFound(err) {
		t.Fatalf("IsNotFound false for %v", err)
	}
}

func TestUpdateAndDeleteContact(t *testing.T) {
	srv, c := newPair(t, brevotest.Options{})
	ctx := context.Background()
	if _, err := c.UpsertContact(ctx, brevo.Contact{Email: "u@example.com", ExtID: "e1", ListIDs: []int64{1}}); err != nil {
		t.Fatal(err)
	}
	err := c.UpdateContact(ctx, "e1", brevo.ByExtID, brevo.ContactUpdate{
		Attributes: map[string]any{"FIRSTNAME": "Ana"}, SMSBlacklisted: brevo.Bool(true),
		ListIDs: []int64{2}, UnlinkListIDs: []int64{1},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := srv.Contact("u@example.com")
	if got.Attributes["FIRSTNAME"] != "Ana" || !got.SMSBlacklisted || len(got.ListIDs) != 1 || got.ListIDs[0] != 2 {
		t.Fatalf("after update: %+v", got)
	}
	err = c.UpdateContact(ctx, "missing", brevo.ByExtID, brevo.ContactUpdate{Attributes: map[string]any{"FIRSTNAME": "x"}})
	wantClass(t, err, pipeline.Rejected, "document_not_found")

	if err := c.DeleteContact(ctx, "u@example.com", brevo.ByEmail); err != nil {
		t.Fatal(err)
	}
	// A redelivered delete finds nothing and still succeeds.
	if err := c.DeleteContact(ctx, "u@example.com", brevo.ByEmail); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	if srv.Contact("u@example.com") != nil {
		t.Fatal("contact still there")
	}
}

func TestUnknownAttributeIsRejected(t *testing.T) {
	_, c := newPair(t, brevotest.Options{})
	_, err := c.UpsertContact(context.Background(), brevo.Contact{Email: "x@example.com", Attributes: map[string]any{"NOPE": 1}})
	wantClass(t, err, pipeline.Rejected, "invalid_parameter")
}

func TestWrongTypedAttributeIsDroppedLikeBrevo(t *testing.T) {
	srv, c := newPair(t, brevotest.Options{Attributes: map[string]string{"AOV": "float"}})
	if _, err := c.UpsertContact(context.Background(), brevo.Contact{Email: "x@example.com",
		Attributes: map[string]any{"AOV": "12.5", "FIRSTNAME": "ok"}}); err != nil {
		t.Fatal(err)
	}
	if ig := srv.IgnoredValues(); len(ig) != 1 || ig[0].Attribute != "AOV" {
		t.Fatalf("ignored = %+v", ig)
	}
	if _, ok := srv.Contact("x@example.com").Attributes["AOV"]; ok {
		t.Fatal("wrong-typed value was stored")
	}
}

func TestHostileContactInputs(t *testing.T) {
	srv, c := newPair(t, brevotest.Options{})
	ctx := context.Background()
	weird := "line1\nline2\t\x00\x07\u2028<script>\"quoted\"\\ ‮rtl"
	if _, err := c.UpsertContact(ctx, brevo.Contact{Email: "h@example.com", Attributes: map[string]any{"FIRSTNAME": weird}}); err != nil {
		t.Fatal(err)
	}
	if got := srv.Contact("h@example.com").Attributes["FIRSTNAME"]; got != weird {
		t.Fatalf("control characters did not round-trip: %q", got)
	}
	huge := strings.Repeat("é", 1<<20) // 2 MB of UTF-8
	_, err := c.UpsertContact(ctx, brevo.Contact{Email: "h@example.com", Attributes: map[string]any{"LASTNAME": huge}})
	wantClass(t, err, pipeline.Rejected, "bad_request")
	// An identifier with path characters stays one path segment.
	_, err = c.GetContact(ctx, "../../attributes", brevo.ByExtID)
	wantClass(t, err, pipeline.Rejected, "document_not_found")
}
