package expression

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/shopspring/decimal"
)

// The function library. Each function is declared with typed overloads so
// the compiler rejects safeDiv("a", 1) at load time; numbers are int,
// float64 or an exact Decimal (money fields).
//
// Functions that depend on the shop's clock (daysSince, toDate) get the
// record's `now` appended by a compile-time patch, so users write
// daysSince(customer.last_order_at) and tests stay deterministic.

var (
	tInt     = reflect.TypeOf(0)
	tFloat   = reflect.TypeOf(0.0)
	tDecimal = reflect.TypeOf(Decimal{})
	tString  = reflect.TypeOf("")
	tTime    = reflect.TypeOf(time.Time{})
	tAny     = reflect.TypeOf((*any)(nil)).Elem()
	tBool    = reflect.TypeOf(false)
	tStrings = reflect.TypeOf([]string(nil))
	numTypes = []reflect.Type{tInt, tFloat, tDecimal}
)

func sig(in []reflect.Type, out reflect.Type) any {
	return reflect.New(reflect.FuncOf(in, []reflect.Type{out}, false)).Interface()
}

// overloads returns every signature whose arguments take one type each from
// the given sets.
func overloads(out reflect.Type, sets ...[]reflect.Type) []any {
	var res []any
	var walk func(i int, acc []reflect.Type)
	walk = func(i int, acc []reflect.Type) {
		if i == len(sets) {
			res = append(res, sig(append([]reflect.Type(nil), acc...), out))
			return
		}
		for _, t := range sets[i] {
			walk(i+1, append(acc, t))
		}
	}
	walk(0, nil)
	return res
}

func one(t reflect.Type) []reflect.Type { return []reflect.Type{t} }

// nowArgs names the functions whose last, hidden argument is `now`, with
// the number of arguments users write.
var nowArgs = map[string]int{"daysSince": 1, "toDate": 1}

func library() []expr.Option {
	return []expr.Option{
		expr.Function("safeDiv", fnSafeDiv, overloads(tFloat, numTypes, numTypes)...),
		expr.Function("daysSince", fnDaysSince, sig([]reflect.Type{tTime, tTime}, tAny)),
		expr.Function("round", fnRound, append(overloads(tFloat, numTypes), overloads(tFloat, numTypes, one(tInt))...)...),
		expr.Function("coalesce", fnCoalesce, new(func(...any) any)),
		expr.Function("e164", fnE164, sig([]reflect.Type{tString, tString}, tAny), sig([]reflect.Type{tString}, tAny)),
		expr.Function("toDate", fnToDate, sig([]reflect.Type{tAny, tTime}, tTime)),
		expr.Function("hasTag", fnHasTag, sig([]reflect.Type{tStrings, tString}, tBool)),
		expr.Function("money", fnMoney, overloads(tFloat, numTypes)...),
		expr.Patch(nowPatch{}),
	}
}

type nowPatch struct{}

func (nowPatch) Visit(node *ast.Node) {
	call, ok := (*node).(*ast.CallNode)
	if !ok {
		return
	}
	id, ok := call.Callee.(*ast.IdentifierNode)
	if !ok {
		return
	}
	if n, ok := nowArgs[id.Value]; ok && len(call.Arguments) == n {
		call.Arguments = append(call.Arguments, &ast.IdentifierNode{Value: "now"})
	}
}

var errNonFinite = errors.New("not a finite number")

// number converts an expression value to float64.
func number(v any) (float64, error) {
	var f float64
	switch x := v.(type) {
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case float64:
		f = x
	case Decimal:
		f = x.InexactFloat64()
	case decimal.Decimal:
		f = x.InexactFloat64()
	case nil:
		return 0, nil
	default:
		return 0, fmt.Errorf("%T is not a number", v)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, errNonFinite
	}
	return f, nil
}

// safeDiv(a, b) is a / b, and 0 when b is 0: an average over no orders is
// 0, not +Inf.
func fnSafeDiv(p ...any) (any, error) {
	a, err := number(p[0])
	if err != nil {
		return nil, fmt.Errorf("safeDiv: %w", err)
	}
	b, err := number(p[1])
	if err != nil {
		return nil, fmt.Errorf("safeDiv: %w", err)
	}
	if b == 0 {
		return 0.0, nil
	}
	return a / b, nil
}

// daysSince(t) is the number of whole calendar days from t to now in the
// shop's time zone (yesterday 23:59 is 1 day ago at 00:01), nil when t is
// the zero time (no such date).
func fnDaysSince(p ...any) (any, error) {
	t, _ := p[0].(time.Time)
	now, _ := p[1].(time.Time)
	if t.IsZero() {
		return nil, nil
	}
	return DaysSince(t, now), nil
}

// DaysSince is daysSince without its nil: the whole calendar days from t
// to now, counted in now's time zone. The RECENCY sweep counts with it, so
// the value it sends is the one the mapping computes.
func DaysSince(t, now time.Time) int { return calendarDays(t.In(now.Location()), now) }

func calendarDays(from, to time.Time) int {
	y1, m1, d1 := from.Date()
	y2, m2, d2 := to.Date()
	a := time.Date(y1, m1, d1, 0, 0, 0, 0, time.UTC)
	b := time.Date(y2, m2, d2, 0, 0, 0, 0, time.UTC)
	return int(b.Sub(a).Hours() / 24)
}

// round(x) rounds half away from zero to 2 decimals; round(x, n) to n.
func fnRound(p ...any) (any, error) {
	if d, ok := p[0].(Decimal); ok {
		places := int32(2)
		if len(p) > 1 {
			places = int32(p[1].(int))
		}
		return d.Round(places).InexactFloat64(), nil
	}
	x, err := number(p[0])
	if err != nil {
		return nil, fmt.Errorf("round: %w", err)
	}
	places := 2
	if len(p) > 1 {
		places = p[1].(int)
	}
	if places < 0 || places > 15 {
		return nil, fmt.Errorf("round: %d decimal places is out of range 0..15", places)
	}
	return decimal.NewFromFloat(x).Round(int32(places)).InexactFloat64(), nil
}

// coalesce returns its first argument that is not empty: nil, "", a zero
// time and an empty list are empty; 0 and false are values.
func fnCoalesce(p ...any) (any, error) {
	for _, v := range p {
		if !empty(v) {
			return v, nil
		}
	}
	return nil, nil
}

func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case time.Time:
		return x.IsZero()
	case []string:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

// e164(phone, country) normalises a phone number to E.164 (+33612345678),
// using country (ISO alpha-2) for numbers written without an international
// prefix; nil for an empty phone; an error (the record is rejected) for a
// phone that cannot be a number, which Brevo would refuse.
func fnE164(p ...any) (any, error) {
	phone := p[0].(string)
	country := ""
	if len(p) > 1 {
		country = p[1].(string)
	}
	if strings.TrimSpace(phone) == "" {
		return nil, nil
	}
	s, err := E164(phone, country)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// toDate(v) reads a time: a time value as is, a string as RFC 3339 or as
// a date (2006-01-02, midnight in the shop's time zone), an integer as Unix
// seconds.
func fnToDate(p ...any) (any, error) {
	now, _ := p[1].(time.Time)
	return ToDate(p[0], now.Location())
}

// ToDate is toDate with an explicit location for date-only strings.
func ToDate(v any, loc *time.Location) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x, nil
	case nil:
		return time.Time{}, nil
	case int:
		return time.Unix(int64(x), 0).In(loc), nil
	case int64:
		return time.Unix(x, 0).In(loc), nil
	case string:
		s := strings.TrimSpace(x)
		if s == "" {
			return time.Time{}, nil
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05"} {
			if t, err := time.ParseInLocation(layout, s, loc); err == nil {
				return t, nil
			}
		}
		if t, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
			return t, nil
		}
		return time.Time{}, fmt.Errorf("toDate: %q is not a date (want 2006-01-02 or RFC 3339)", clip(s))
	}
	return time.Time{}, fmt.Errorf("toDate: %T is not a date", v)
}

// hasTag reports whether tags holds tag, ignoring case and surrounding
// spaces as Shopify does.
func fnHasTag(p ...any) (any, error) {
	tags, _ := p[0].([]string)
	want := strings.TrimSpace(p[1].(string))
	for _, t := range tags {
		if strings.EqualFold(strings.TrimSpace(t), want) {
			return true, nil
		}
	}
	return false, nil
}

// money turns an amount into a float for a Brevo number attribute.
func fnMoney(p ...any) (any, error) {
	f, err := number(p[0])
	if err != nil {
		return nil, fmt.Errorf("money: %w", err)
	}
	return f, nil
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
