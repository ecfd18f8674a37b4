// Package config is the configuration model of pipeline.yaml: strict
// decoding (an unknown key is an error), ${ENV} and ${ENV:-default}
// interpolation, defaults, and validation that reports every problem at
// once as "path: problem (hint)", and the warnings of keys accepted with
// a remark (Problems.Warn, Config.Warnings).
//
// The engine's own sections (data_dir, server, log, broker, pipeline,
// dead_letter) are typed here. Components (sources, connectors, sinks) and
// the extension sections that later stages add (transforms, tests, …)
// register their config types with Register and RegisterSection, so this
// package never imports a connector and every component's keys are still
// checked strictly.
package config
