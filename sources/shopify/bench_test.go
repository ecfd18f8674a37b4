package shopify

import (
	"os"
	"testing"
)

func BenchmarkNormalizeCustomer(b *testing.B) {
	body, err := os.ReadFile("testdata/webhooks/customers-update.json")
	if err != nil {
		b.Fatal(err)
	}
	in := webhookFor(b, "customers/update", body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Normalize(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNormalizeOrder(b *testing.B) {
	body, err := os.ReadFile("testdata/webhooks/orders-create.json")
	if err != nil {
		b.Fatal(err)
	}
	in := webhookFor(b, "orders/create", body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Normalize(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyHMAC(b *testing.B) {
	body, err := os.ReadFile("testdata/webhooks/orders-create.json")
	if err != nil {
		b.Fatal(err)
	}
	s := Secrets{Current: "new-secret", Previous: "old-secret"}
	h := Sign(body, "old-secret")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := VerifyHMAC(body, h, s); err != nil {
			b.Fatal(err)
		}
	}
}
