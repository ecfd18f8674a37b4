// Command tajo is the one binary of tajo: it reads pipeline.yaml, wires the
// engine and forwards signals. Everything else lives in packages.
//
//	tajo run      -c pipeline.yaml [--dev]   run the pipeline until Ctrl-C
//	tajo validate -c pipeline.yaml [--dev]   check the configuration, report every problem
//	tajo version                             print the version
//	tajo help                                show the commands
//
// A run simulates the Shopify store and the Brevo account only when asked
// (--dev, or dev.simulate: missing|always; see simulate.go): otherwise a
// missing credential stops the start, naming the variable: the
// fail-closed half of DESIGN.md invariant 8, tested by
// TestMissingCredentialsStopTheStart, TestSimulateAutoIsRefused and,
// through the binary, TestRunWithoutBrevoKeyFailsClosed. Every command
// runs with umask 077, so what tajo writes is its user's only
// (TestDataDirIsPrivate).
package main
