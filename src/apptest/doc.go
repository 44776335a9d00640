// Package apptest holds the tests of the Splunk app itself: the .conf files of default/ and metadata/, the
// generated macros and correlation searches, the checks of Splunk's .spec files and of AppInspect that apply,
// and the reproducible package built by src/cmd/package. It has no code of its own.
package apptest
