module regasmdetect

go 1.26

require (
	github.com/splunk/splunk-cloud-sdk-go v1.11.1
	golang.org/x/sys v0.38.0
	golang.org/x/term v0.37.0
	gopkg.in/yaml.v3 v3.0.1
)

require (
	github.com/golang/glog v0.0.0-20160126235308-23def4e6c14b // indirect
	github.com/pkg/errors v0.8.1 // indirect
	github.com/splunk/go-dependencies v1.0.1 // indirect
)
