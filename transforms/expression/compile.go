package expression

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"

	"github.com/tajo/tajo/pipeline/config"
)

// Program is one compiled expression with the source it came from. It is
// safe for concurrent use.
type Program struct {
	src  string
	prog *vm.Program
	// native, when set, computes the same result without the VM (see
	// natives); prog is the reference and runs whenever native declines.
	native native
}

// Source is the expression as the user wrote it.
func (p *Program) Source() string { return p.src }

// Compile checks src, an expression whose value is used (a map target),
// against Env and the function library. The error is written for a
// person editing pipeline.yaml: expr's position, and the variable names
// they wrote rather than Go type names; the caller prefixes the config
// path.
func Compile(src string) (*Program, error) { return compile(src, false) }

// CompileCondition is Compile for a condition (when, filter, route):
// anything but a boolean is a compile error.
func CompileCondition(src string) (*Program, error) { return compile(src, true) }

func compile(src string, asBool bool) (*Program, error) {
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("empty expression")
	}
	opts := append([]expr.Option{expr.Env(Env{})}, library()...)
	if asBool {
		opts = append(opts, expr.AsBool())
	}
	p, err := expr.Compile(src, opts...)
	if err != nil {
		return nil, explain(err)
	}
	pr := &Program{src: src, prog: p}
	if !asBool {
		pr.native = natives[src]
	}
	return pr, nil
}

var viewNames = map[string]reflect.Type{
	"customer": reflect.TypeOf(CustomerView{}), "order": reflect.TypeOf(OrderView{}),
	"checkout": reflect.TypeOf(CheckoutView{}), "product": reflect.TypeOf(ProductView{}),
	"shop": reflect.TypeOf(ShopView{}), "event": reflect.TypeOf(EventView{}),
	"address": reflect.TypeOf(AddressView{}), "purchase": reflect.TypeOf(ProductPurchase{}),
	"env": reflect.TypeOf(Env{}),
}

// pkgPrefix is how expr names the views' Go types ("expression."), which
// explain replaces with the names users write.
var pkgPrefix = strings.TrimSuffix(reflect.TypeOf(Env{}).String(), "Env")

var noField = regexp.MustCompile(`type ` + regexp.QuoteMeta(pkgPrefix) + `(\w+) has no field (\w+)`)

// explain rewrites expr's message: "type expression.CustomerView has no
// field frist_name" becomes "customer has no field frist_name (did you
// mean first_name?)", with line and column.
func explain(err error) error {
	var fe *file.Error
	msg := err.Error()
	pos := ""
	if errors.As(err, &fe) {
		msg = fe.Message
		pos = fmt.Sprintf(" at line %d, column %d", fe.Line, fe.Column+1)
	}
	if m := noField.FindStringSubmatch(msg); m != nil {
		for name, t := range viewNames {
			if t.Name() != m[1] {
				continue
			}
			fields := fieldNames(t)
			hint := config.Closest(m[2], fields)
			if hint != "" {
				hint = fmt.Sprintf(" (did you mean %s?)", hint)
			} else {
				hint = " (known: " + strings.Join(fields, ", ") + ")"
			}
			if name == "env" {
				return fmt.Errorf("unknown variable %s%s%s", m[2], pos, hint)
			}
			return fmt.Errorf("unknown field %s.%s%s%s", name, m[2], pos, hint)
		}
	}
	for name, t := range viewNames {
		msg = strings.ReplaceAll(msg, pkgPrefix+t.Name(), name)
	}
	msg = strings.ReplaceAll(msg, "schemas.Money", "decimal (use money(x) for arithmetic)")
	return fmt.Errorf("%s%s", msg, pos)
}

// FieldNames lists the names expressions use for the fields of view, a
// view struct such as CustomerView{}.
func FieldNames(view any) []string { return fieldNames(reflect.TypeOf(view)) }

func fieldNames(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		if tag := t.Field(i).Tag.Get("expr"); tag != "" {
			out = append(out, tag)
		}
	}
	return out
}

// vms holds one VM per worker: a VM keeps its stack between runs, so a
// record costs no VM allocation, and the pool keeps concurrent flows safe.
var vms = sync.Pool{New: func() any { return new(vm.VM) }}

// Run evaluates the program on env. A run-time failure (a bad phone, an
// unparseable date, a panic in a library function) is an error for the
// record, never a crash.
func (p *Program) Run(env *Env) (v any, err error) {
	if p.native != nil {
		if v, ok := p.runNative(env); ok {
			return v, nil
		}
	}
	return p.runVM(env)
}

// runNative runs the native; a panic (a bug) declines, and the program
// runs instead.
func (p *Program) runNative(env *Env) (v any, ok bool) {
	defer func() {
		if recover() != nil {
			v, ok = nil, false
		}
	}()
	return p.native(env)
}

func (p *Program) runVM(env *Env) (v any, err error) {
	m := vms.Get().(*vm.VM)
	defer func() {
		// expr turns most run-time faults into errors; a panic from a
		// library function must still be a rejected record, not a crash.
		// A VM that panicked is not reused.
		if r := recover(); r != nil {
			err = fmt.Errorf("expression panicked: %v", r)
			return
		}
		vms.Put(m)
	}()
	return m.Run(p.prog, env)
}
