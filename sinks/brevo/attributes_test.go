package brevo_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/sinks/brevo"
	"github.com/tajo/tajo/sinks/brevo/brevotest"
)

func TestEnsureAttributesCreatesMissing(t *testing.T) {
	srv, c := newPair(t, brevotest.Options{Attributes: map[string]string{"AOV": "float"}})
	want := map[string]brevo.AttrType{
		"AOV": brevo.AttrFloat, "ORDERS_COUNT": brevo.AttrFloat, "VIP": brevo.AttrBoolean,
		"LAST_ORDER_DATE": brevo.AttrDate, "firstname": brevo.AttrText,
	}
	if err := c.EnsureAttributes(context.Background(), want); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, a := range srv.Attributes() {
		got[a.Name] = a.Type
	}
	if got["ORDERS_COUNT"] != "float" || got["VIP"] != "boolean" || got["LAST_ORDER_DATE"] != "date" {
		t.Fatalf("attributes = %v", got)
	}
	if n := srv.RequestCount("POST /contacts/attributes/{attributeCategory}/{attributeName}"); n != 3 {
		t.Fatalf("%d creations, want 3", n)
	}
	// Idempotent: a second run creates nothing.
	if err := c.EnsureAttributes(context.Background(), want); err != nil {
		t.Fatal(err)
	}
}

func TestEnsureAttributesNamesEveryMismatch(t *testing.T) {
	srv, c := newPair(t, brevotest.Options{Attributes: map[string]string{"AOV": "text", "VIP": "date"}})
	err := c.EnsureAttributes(context.Background(), map[string]brevo.AttrType{
		"AOV": brevo.AttrFloat, "VIP": brevo.AttrBoolean, "FIRSTNAME": brevo.AttrText, "NEW_ONE": brevo.AttrText,
	})
	wantClass(t, err, pipeline.Fatal, "")
	for _, s := range []string{"AOV is text, want float", "VIP is date, want boolean"} {
		if !strings.Contains(err.Error(), s) {
			t.Fatalf("%q missing from %v", s, err)
		}
	}
	if strings.Contains(err.Error(), "FIRSTNAME") {
		t.Fatalf("matching attribute named: %v", err)
	}
	if n := srv.RequestCount("POST /contacts/attributes/{attributeCategory}/{attributeName}"); n != 0 {
		t.Fatal("created attributes despite a broken mapping")
	}
}

func TestCreateAttributeErrors(t *testing.T) {
	_, c := newPair(t, brevotest.Options{})
	ctx := context.Background()
	wantClass(t, c.CreateAttribute(ctx, "FIRSTNAME", brevo.AttrText), pipeline.Rejected, "duplicate_parameter")
	wantClass(t, c.CreateAttribute(ctx, "BAD NAME", brevo.AttrText), pipeline.Rejected, "invalid_parameter")
	wantClass(t, c.CreateAttributeIn(ctx, "global", "FLAG", brevo.AttrBoolean), pipeline.Rejected, "invalid_parameter")
	wantClass(t, c.CreateAttribute(ctx, "X", "money"), pipeline.Rejected, "invalid_parameter")
}
