package tmpdeps

import (
	_ "github.com/splunk/splunk-cloud-sdk-go/services"
	_ "github.com/splunk/splunk-cloud-sdk-go/services/ingest"
	_ "golang.org/x/term"
	_ "gopkg.in/yaml.v3"
	_ "www.velocidex.com/golang/evtx"
)
