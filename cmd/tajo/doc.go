// Command tajo is the one binary of tajo: it reads pipeline.yaml, wires the
// engine and forwards signals. Everything else lives in packages.
//
//	tajo run      -c pipeline.yaml   run the pipeline until Ctrl-C
//	tajo validate -c pipeline.yaml   check the configuration, report every problem
//	tajo version                     print the version
//	tajo help                        show the commands
package main
