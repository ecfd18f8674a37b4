package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

// The input is n distinct customers/update deliveries of a full REST
// customer (the shape of the go-shopify fixture under
// shared/fixtures/shopify/rest/customer.go-shopify.json: addresses,
// consent, the legacy orders_count and total_spent), each with four
// addresses, a note, a phone and a locale: about 2.6 KB of body. tajo's
// input holds, a line each, the tajo.event.v1 envelope its Shopify source
// writes for such a delivery: the canonical customer in "data" and the
// body as it came in "raw", about 5.5 KB. The peer's holds the bodies.

// shop is the one shop every event is about; it has no per-shop settings
// in the bench configuration, so phones are read in E.164 as written.
const shop = "bench-store.myshopify.com"

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

var (
	firstNames = []string{"Zoë", "José", "Ólafur", "Ana", "Søren", "Seán", "Émilie", "Bob", "Ngọc", "Mária"}
	lastNames  = []string{"Biller", "Müller", "O'Brien", "Nuñez", "Dubois", "Smith", "Ōtsuka", "Novak"}
	cities     = []string{"BRISBANE", "MELBOURNE", "SYDNEY", "PERTH", "ADELAIDE", "HOBART"}
	tagSets    = []string{"newsletter, fr", "loyal", "vip, wholesale", "", "gift, repeat, newsletter", "VIP"}
	locales    = []string{"en-AU", "fr", "de", "ja"}
	emailState = []string{"subscribed", "not_subscribed", "unsubscribed", "subscribed", "pending"}
	smsState   = []string{"not_subscribed", "subscribed", "unsubscribed", "not_subscribed"}
)

type address struct {
	ID           int64  `json:"id"`
	CustomerID   int64  `json:"customer_id"`
	FirstName    string `json:"first_name"`
	LastName     string `json:"last_name"`
	Company      string `json:"company,omitempty"`
	Address1     string `json:"address1"`
	Address2     string `json:"address2,omitempty"`
	City         string `json:"city"`
	Province     string `json:"province"`
	Country      string `json:"country"`
	Zip          string `json:"zip"`
	Phone        string `json:"phone"`
	Name         string `json:"name"`
	ProvinceCode string `json:"province_code"`
	CountryCode  string `json:"country_code"`
	CountryName  string `json:"country_name"`
	Default      bool   `json:"default"`
}

type consent struct {
	State                string `json:"state"`
	OptInLevel           string `json:"opt_in_level"`
	ConsentUpdatedAt     string `json:"consent_updated_at"`
	ConsentCollectedFrom string `json:"consent_collected_from,omitempty"`
}

// restCustomer is the webhook body, fields in Shopify's order, nulls
// included.
type restCustomer struct {
	ID                        int64     `json:"id"`
	Email                     string    `json:"email"`
	AcceptsMarketing          bool      `json:"accepts_marketing"`
	CreatedAt                 string    `json:"created_at"`
	UpdatedAt                 string    `json:"updated_at"`
	FirstName                 string    `json:"first_name"`
	LastName                  string    `json:"last_name"`
	OrdersCount               int       `json:"orders_count"`
	State                     string    `json:"state"`
	TotalSpent                string    `json:"total_spent"`
	LastOrderID               int64     `json:"last_order_id"`
	Note                      string    `json:"note"`
	VerifiedEmail             bool      `json:"verified_email"`
	MultipassIdentifier       *string   `json:"multipass_identifier"`
	TaxExempt                 bool      `json:"tax_exempt"`
	Phone                     string    `json:"phone"`
	Tags                      string    `json:"tags"`
	LastOrderName             string    `json:"last_order_name"`
	Currency                  string    `json:"currency"`
	Locale                    string    `json:"locale"`
	Addresses                 []address `json:"addresses"`
	AcceptsMarketingUpdatedAt string    `json:"accepts_marketing_updated_at"`
	MarketingOptInLevel       *string   `json:"marketing_opt_in_level"`
	TaxExemptions             []string  `json:"tax_exemptions"`
	EmailMarketingConsent     consent   `json:"email_marketing_consent"`
	SMSMarketingConsent       consent   `json:"sms_marketing_consent"`
	AdminGraphQLAPIID         string    `json:"admin_graphql_api_id"`
	DefaultAddress            address   `json:"default_address"`
}

// canonicalCustomer is what tajo's normalization makes of it
// (schemas.Customer): tags as a list, empty and null fields left out.
type canonicalCustomer struct {
	ID                        int64              `json:"id"`
	AdminGraphQLAPIID         string             `json:"admin_graphql_api_id"`
	Email                     string             `json:"email"`
	Phone                     string             `json:"phone"`
	FirstName                 string             `json:"first_name"`
	LastName                  string             `json:"last_name"`
	State                     string             `json:"state"`
	Note                      string             `json:"note"`
	Currency                  string             `json:"currency"`
	Locale                    string             `json:"locale"`
	VerifiedEmail             bool               `json:"verified_email"`
	CreatedAt                 string             `json:"created_at"`
	UpdatedAt                 string             `json:"updated_at"`
	Tags                      []string           `json:"tags,omitempty"`
	Addresses                 []canonicalAddress `json:"addresses"`
	DefaultAddress            canonicalAddress   `json:"default_address"`
	EmailMarketingConsent     consent            `json:"email_marketing_consent"`
	SMSMarketingConsent       consent            `json:"sms_marketing_consent"`
	AcceptsMarketing          bool               `json:"accepts_marketing"`
	AcceptsMarketingUpdatedAt string             `json:"accepts_marketing_updated_at"`
	OrdersCount               int                `json:"orders_count"`
	TotalSpent                string             `json:"total_spent"`
	LastOrderID               int64              `json:"last_order_id,omitempty"`
	LastOrderName             string             `json:"last_order_name,omitempty"`
}

// canonicalAddress leaves out "default": false.
type canonicalAddress struct {
	address
	Default bool `json:"default,omitempty"`
}

type entity struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

type envelope struct {
	Schema     string             `json:"schema"`
	ID         string             `json:"id"`
	Source     string             `json:"source"`
	Shop       string             `json:"shop"`
	Topic      string             `json:"topic"`
	Type       string             `json:"type"`
	OccurredAt string             `json:"occurred_at"`
	ReceivedAt string             `json:"received_at"`
	APIVersion string             `json:"api_version"`
	Entity     entity             `json:"entity"`
	Data       *canonicalCustomer `json:"data"`
	Raw        json.RawMessage    `json:"raw"`
}

// customer returns customer i's body and canonical form; every field is a
// function of i, so the input is the same on every machine.
func customer(i int) (*restCustomer, *canonicalCustomer) {
	id := int64(7_000_000_000_000 + i)
	first, last := firstNames[i%len(firstNames)], lastNames[(i/len(firstNames))%len(lastNames)]
	created := epoch.Add(-time.Duration(i%1000) * 24 * time.Hour).Format(time.RFC3339)
	updated := epoch.Add(time.Duration(i) * time.Second).Format(time.RFC3339)
	orders := i % 13
	cents := int64(orders) * int64(1999+i%9000)
	spent := fmt.Sprintf("%d.%02d", cents/100, cents%100)
	phone := fmt.Sprintf("+336%08d", i)
	addrs := make([]address, 4)
	for k := range addrs {
		addrs[k] = address{
			ID: id*10 + int64(k), CustomerID: id, FirstName: first, LastName: last,
			Address1: fmt.Sprintf("%d Queen St", 1+(i+k)%400),
			City:     cities[(i+k)%len(cities)], Province: "Queensland", Country: "Australia", Zip: fmt.Sprintf("4%03d", (i+k)%1000),
			Phone: fmt.Sprintf("+61 4%02d %03d %03d", k, i/1000%1000, i%1000), Name: first + " " + last,
			ProvinceCode: "QLD", CountryCode: "AU", CountryName: "Australia", Default: k == 0,
		}
	}
	em := consent{State: emailState[i%len(emailState)], OptInLevel: "single_opt_in", ConsentUpdatedAt: created}
	sms := consent{State: smsState[i%len(smsState)], OptInLevel: "single_opt_in", ConsentUpdatedAt: created, ConsentCollectedFrom: "OTHER"}
	tags := tagSets[i%len(tagSets)]
	r := &restCustomer{
		ID: id, Email: fmt.Sprintf("customer%d@example.com", i), AcceptsMarketing: em.State == "subscribed",
		CreatedAt: created, UpdatedAt: updated, FirstName: first, LastName: last, OrdersCount: orders, State: "enabled",
		TotalSpent: spent, LastOrderID: id + 1, Note: "Prefers weekend delivery; gift wrapping on every order since 2024.",
		VerifiedEmail: true, Phone: phone, Tags: tags, LastOrderName: fmt.Sprintf("#%d", 1000+i), Currency: "AUD",
		Locale: locales[i%len(locales)], Addresses: addrs, AcceptsMarketingUpdatedAt: created, TaxExemptions: []string{},
		EmailMarketingConsent: em, SMSMarketingConsent: sms, AdminGraphQLAPIID: fmt.Sprintf("gid://shopify/Customer/%d", id),
		DefaultAddress: addrs[0],
	}
	if orders == 0 {
		r.LastOrderID, r.LastOrderName = 0, ""
	}
	c := &canonicalCustomer{
		ID: r.ID, AdminGraphQLAPIID: r.AdminGraphQLAPIID, Email: r.Email, Phone: r.Phone, FirstName: first, LastName: last,
		State: r.State, Note: r.Note, Currency: r.Currency, Locale: r.Locale, VerifiedEmail: true,
		CreatedAt: created, UpdatedAt: updated, DefaultAddress: canonicalAddress{addrs[0], true},
		EmailMarketingConsent: em, SMSMarketingConsent: sms, AcceptsMarketing: r.AcceptsMarketing,
		AcceptsMarketingUpdatedAt: created, OrdersCount: orders, TotalSpent: canonicalMoney(spent),
		LastOrderID: r.LastOrderID, LastOrderName: r.LastOrderName,
	}
	for _, a := range addrs {
		c.Addresses = append(c.Addresses, canonicalAddress{a, a.Default})
	}
	for _, t := range strings.Split(tags, ",") {
		if t = strings.TrimSpace(t); t != "" {
			c.Tags = append(c.Tags, t)
		}
	}
	return r, c
}

// canonicalMoney is a decimal as tajo writes it: no trailing zeros
// ("278.60" is "278.6", "0.00" is "0").
func canonicalMoney(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// generate writes n envelopes, one a line, to path, and the same
// customers' bodies to bodyPath unless it is "". It returns the mean body
// and envelope line sizes.
func generate(path, bodyPath string, n int) (body, line float64, err error) {
	w, err := create(path)
	if err != nil {
		return 0, 0, err
	}
	var bw *lineFile
	if bodyPath != "" {
		if bw, err = create(bodyPath); err != nil {
			return 0, 0, err
		}
	}
	var bodies, lines int64
	var idb [16]byte
	for i := 0; i < n; i++ {
		r, c := customer(i)
		raw, _ := json.Marshal(r)
		idb[0], idb[1], idb[2], idb[3], idb[15] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i), 0xbe
		e := envelope{
			Schema: "tajo.event.v1", ID: hex.EncodeToString(idb[:]), Source: "shopify", Shop: shop,
			Topic: "customers/update", Type: "customer_updated", OccurredAt: c.UpdatedAt,
			ReceivedAt: epoch.Add(time.Duration(i)*time.Second + 300*time.Millisecond).Format(time.RFC3339Nano),
			APIVersion: "2026-04", Entity: entity{Kind: "customer", ID: fmt.Sprint(c.ID)}, Data: c, Raw: raw,
		}
		b, _ := json.Marshal(&e)
		w.line(b)
		if bw != nil {
			bw.line(raw)
		}
		bodies += int64(len(raw))
		lines += int64(len(b) + 1)
	}
	if err := w.close(); err != nil {
		return 0, 0, err
	}
	if bw != nil {
		if err := bw.close(); err != nil {
			return 0, 0, err
		}
	}
	return float64(bodies) / float64(n), float64(lines) / float64(n), nil
}

// lineFile is a buffered file of lines.
type lineFile struct {
	f *os.File
	w *bufio.Writer
}

func create(path string) (*lineFile, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &lineFile{f, bufio.NewWriterSize(f, 1<<20)}, nil
}

func (l *lineFile) line(b []byte) {
	l.w.Write(b)
	l.w.WriteByte('\n')
}

func (l *lineFile) close() error {
	err := l.w.Flush()
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	return err
}
