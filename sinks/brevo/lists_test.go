package brevo_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/sinks/brevo/brevotest"
)

func TestListAddAndRemoveAreChunkedBy150(t *testing.T) {
	srv, c := newPair(t, brevotest.Options{})
	ctx := context.Background()
	var emails []string
	for i := 0; i < 151; i++ {
		e := fmt.Sprintf("m%03d@example.com", i)
		srv.PutContact(brevotest.Contact{Email: e})
		emails = append(emails, e)
	}
	res, err := c.AddToList(ctx, 2, emails)
	if err != nil {
		t.Fatal(err)
	}
	if res.Calls != 2 || len(res.Success) != 151 || len(res.Failure) != 0 {
		t.Fatalf("add result: calls=%d success=%d failure=%d", res.Calls, len(res.Success), len(res.Failure))
	}
	if n := srv.RequestCount("POST /contacts/lists/{listId}/contacts/add"); n != 2 {
		t.Fatalf("%d add calls, want 2", n)
	}
	if n := len(srv.ListMembers(2)); n != 151 {
		t.Fatalf("list has %d members", n)
	}
	res, err = c.RemoveFromList(ctx, 2, append(emails[:150:150], "unknown@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Calls != 2 || len(res.Failure) != 1 || res.Failure[0] != "unknown@example.com" {
		t.Fatalf("remove result = %+v", res)
	}
	if m := srv.ListMembers(2); len(m) != 1 || m[0] != "m150@example.com" {
		t.Fatalf("members left = %v", m)
	}
}

func TestListByIDs(t *testing.T) {
	srv, c := newPair(t, brevotest.Options{})
	id := srv.PutContact(brevotest.Contact{Email: "i@example.com"})
	res, err := c.AddIDsToList(context.Background(), 1, []int64{id, 999})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Success) != 1 || len(res.Failure) != 1 || res.Failure[0] != "999" {
		t.Fatalf("result = %+v", res)
	}
	if _, err := c.RemoveIDsFromList(context.Background(), 1, []int64{id}); err != nil {
		t.Fatal(err)
	}
	if len(srv.ListMembers(1)) != 0 {
		t.Fatal("not removed")
	}
}

func TestUnknownListIsRejected(t *testing.T) {
	_, c := newPair(t, brevotest.Options{})
	_, err := c.AddToList(context.Background(), 77, []string{"a@example.com"})
	wantClass(t, err, pipeline.Rejected, "document_not_found")
	_, err = c.AddToList(context.Background(), 0, []string{"a@example.com"})
	wantClass(t, err, pipeline.Rejected, "invalid_parameter")
}
