// Package expression is the language of pipeline.yaml's mappings,
// conditions and routes: expr-lang/expr compiled against a typed
// environment, with tajo's function library and the default contact
// mapping.
//
//   - Env and its views (EventView, CustomerView, OrderView, CheckoutView,
//     ProductView, ShopView) are what an expression sees. Their expr tags
//     are the names users write (customer.first_name); FillCustomer and
//     its siblings set them from the canonical schemas types.
//   - The function library (safeDiv, daysSince, round, coalesce, e164,
//     toDate, hasTag, money) is declared with typed overloads, so a wrong
//     argument type fails at compile time.
//   - Compile and CompileCondition check an expression once, at load: a
//     typo or a type error is an error with its line and column and the
//     names the user wrote ("unknown field customer.frist_name (did you
//     mean first_name?)"), which the caller puts under its config path.
//   - Defaults is the seed's contact mapping; each default expression also
//     has a Go version (a native) that skips the VM, attached by Compile
//     when the source text is exactly the default's.
//
// # Invariants enforced here
//
//   - Running a program never crashes the pipeline: a run-time failure,
//     or a panic in a library function, is an error the caller turns into
//     a rejected record.
//   - A native returns exactly what its program returns (value and
//     dynamic type), and declines wherever the program would fail, so the
//     program runs and the error reads the same
//     (TestNativesAgreeWithPrograms).
package expression
