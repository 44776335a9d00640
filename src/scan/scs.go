package scan

import (
	"errors"
	"flag"
	"io"

	"regasmdetect/src/export"
	"regasmdetect/src/export/scs"
)

// scsConfig configures the export to Splunk Cloud Services. Its flags follow the --hec-* ones in export.go
// line for line by design (same token rules); what they share beyond one flag call each is readToken.
type scsConfig struct {
	Tenant    string
	Host      string
	TokenEnv  string
	TokenFile string
}

func (c *scsConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.Tenant, "scs-tenant", "", "send the rows to this Splunk Cloud Services tenant (ingest API)")
	fs.StringVar(&c.Host, "scs-host", "", "Splunk Cloud Services API host (default: the SDK's)")
	fs.StringVar(&c.TokenEnv, "scs-token-env", "REGASMDETECT_SCS_TOKEN", "environment variable that holds the SCS bearer token")
	fs.StringVar(&c.TokenFile, "scs-token-file", "", "file that holds the SCS bearer token")
}

func (c *scsConfig) enabled() bool { return c.Tenant != "" }

func (c *scsConfig) check() error {
	if c.Tenant == "" && (c.Host != "" || c.TokenFile != "") {
		return errors.New("--scs-* flags need --scs-tenant")
	}
	return nil
}

// exporter builds the SCS exporter; the token comes from the file or the environment variable.
func (c *scsConfig) exporter(stderr io.Writer) (export.Exporter, error) {
	tok, err := readToken(c.TokenFile, c.TokenEnv, stderr)
	if err != nil {
		return nil, err
	}
	return scs.New(scs.Config{Tenant: c.Tenant, Host: c.Host, Token: tok})
}
