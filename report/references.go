package report

// Reference is a requirement of a published benchmark, check catalogue or
// framework that a control gives evidence on.
type Reference struct {
	Framework string `json:"framework"`
	ID        string `json:"id"`
	Title     string `json:"title,omitempty"`
}

// The frameworks, as references name them.
const (
	frameworkCIS     = "CIS AWS Foundations Benchmark v3.0.0"
	frameworkProwler = "Prowler check"
	frameworkPCI     = "PCI DSS v4.0"
	frameworkSOC2    = "SOC 2 (2017 TSC)"
	frameworkHIPAA   = "HIPAA Security Rule"
	frameworkNIST    = "NIST SP 800-53 Rev. 5"
)

// controlReferences is the one table of what each control answers for.
// A configuration scanner answers these requirements from today's trail
// settings; trailcover from the evidence of the whole window.
//
// Sources: the CIS AWS Foundations Benchmark v3.0.0 (2024-01-31),
// recommendations 3.1, 3.2 and 4.5, as Prowler's cis_3.0_aws.json lists
// them with their checks; the requirement ids each of those Prowler checks
// is mapped to in prowler/compliance/aws/pci_4.0_aws.json, soc2_aws.json,
// hipaa_aws.json and nist_800_53_revision_5_aws.json
// (github.com/prowler-cloud/prowler at 3e000faa, 2026-08-21), taken at
// the level of the framework's requirement (Prowler numbers PCI's
// sub-items further), and only the mappings bearing on delivery, integrity
// and change of the trail itself.
var controlReferences = map[string][]Reference{
	"multi-region-coverage": {
		{frameworkCIS, "3.1", "Ensure CloudTrail is enabled in all regions"},
		{frameworkProwler, "cloudtrail_multi_region_enabled", ""},
		{frameworkPCI, "10.2.1", "Audit logs are enabled and active for all system components"},
		{frameworkPCI, "10.2.2", "Audit logs record the details of each auditable event"},
		{frameworkSOC2, "CC7.2", "The entity monitors system components for anomalies"},
		{frameworkHIPAA, "164.312(b)", "Audit controls"},
		{frameworkNIST, "AU-2", "Event logging"},
		{frameworkNIST, "AU-12", "Audit record generation"},
	},
	"global-service-events": {
		{frameworkCIS, "3.1", "Ensure CloudTrail is enabled in all regions (a multi-region trail with management events, global service events included)"},
		{frameworkProwler, "cloudtrail_multi_region_enabled", ""},
		{frameworkPCI, "10.2.1", "Audit logs are enabled and active for all system components"},
		{frameworkHIPAA, "164.312(b)", "Audit controls"},
		{frameworkNIST, "AU-2", "Event logging"},
	},
	"log-file-integrity": {
		{frameworkCIS, "3.2", "Ensure CloudTrail log file validation is enabled"},
		{frameworkProwler, "cloudtrail_log_file_validation_enabled", ""},
		{frameworkPCI, "10.3.2", "Audit log files are protected to prevent modifications by individuals"},
		{frameworkSOC2, "CC7.3", "The entity evaluates security events"},
		{frameworkHIPAA, "164.312(c)(1)", "Integrity"},
		{frameworkHIPAA, "164.312(b)", "Audit controls"},
		{frameworkNIST, "AU-9", "Protection of audit information"},
		{frameworkNIST, "SI-7", "Software, firmware, and information integrity"},
	},
	"region-allowlist": {
		{frameworkProwler, "organizations_scp_check_deny_regions", ""},
	},
	"logging-changes": {
		{frameworkCIS, "4.5", "Ensure a log metric filter and alarm exist for CloudTrail configuration changes"},
		{frameworkProwler, "cloudwatch_log_metric_filter_and_alarm_for_cloudtrail_configuration_changes_enabled", ""},
		{frameworkSOC2, "CC5.2", "The entity selects and develops general control activities over technology"},
	},
}
