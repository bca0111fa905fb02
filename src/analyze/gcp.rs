//! GCP service account keys: a read-only access token (the same JWT-bearer
//! grant the validator uses, scope `cloud-platform.read-only`), then
//! `projects.testIamPermissions` on the account's own project, which says
//! which of a list of telling permissions the account holds. Both are reads.
//!
//! <https://developers.google.com/identity/protocols/oauth2/service-account#httprest>,
//! <https://cloud.google.com/resource-manager/reference/rest/v1/projects/testIamPermissions>

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::AnalyzeError;
use crate::finding::Analysis;
use crate::net::{provider_message, scrub};
use crate::rules::{AnalyzeSpec, ValidateSpec};
use crate::validate::Validator;

const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform.read-only";
const TEST_URL: &str =
    "https://cloudresourcemanager.googleapis.com/v1/projects/{{parts.project}}:testIamPermissions";

/// Permissions asked about: owning the project's IAM, minting keys or
/// tokens for other accounts, and reaching data and machines.
pub(crate) const PERMISSIONS: &[&str] = &[
    "resourcemanager.projects.setIamPolicy",
    "resourcemanager.projects.delete",
    "iam.serviceAccountKeys.create",
    "iam.serviceAccounts.actAs",
    "iam.serviceAccounts.getAccessToken",
    "compute.instances.create",
    "compute.instances.setMetadata",
    "storage.buckets.delete",
    "storage.objects.create",
    "storage.objects.get",
    "secretmanager.versions.access",
    "bigquery.tables.getData",
    "cloudsql.instances.connect",
    "resourcemanager.projects.get",
];

pub(super) fn run(
    v: &Validator,
    provider: &str,
    spec: &AnalyzeSpec,
    secret: &str,
    parts: &BTreeMap<String, String>,
) -> Result<Analysis, AnalyzeError> {
    let email = parts
        .get("client_email")
        .ok_or_else(|| AnalyzeError::MissingPart("client_email".into()))?;
    // `NAME@PROJECT.iam.gserviceaccount.com`, unless the key file said.
    let project = parts.get("project_id").cloned().or_else(|| {
        let domain = email.split('@').nth(1)?;
        domain
            .strip_suffix(".iam.gserviceaccount.com")
            .map(str::to_string)
    });
    let identity = match &project {
        Some(p) => format!("{email} (project {p})"),
        None => email.clone(),
    };
    let token = v.gcp_token(provider, secret, parts, SCOPE)?;
    let Some(project) = project else {
        return Ok(Analysis {
            identity: Some(identity),
            severity: Some(spec.severity_for(&[], None)),
            error: Some("no project id to test permissions on".into()),
            ..Analysis::default()
        });
    };
    let req_spec = ValidateSpec {
        method: Some("POST".into()),
        url: Some(TEST_URL.into()),
        headers: BTreeMap::from([("Authorization".into(), "Bearer {{secret}}".into())]),
        json: Some(json!({"permissions": PERMISSIONS})),
        ..ValidateSpec::default()
    };
    let named = BTreeMap::from([("project".to_string(), project)]);
    let hide = |e: String| AnalyzeError::Request(scrub(&scrub(&e, &token), secret));
    let req = v
        .build_request(provider, &req_spec, &token, &named)
        .map_err(|e| hide(e.to_string()))?;
    let resp = v.send(&req, &token).map_err(|e| hide(e.to_string()))?;
    let body: Option<Value> = serde_json::from_str(&resp.body).ok();
    if resp.status != 200 {
        let said = provider_message(&resp.body, body.as_ref()).unwrap_or_default();
        return Ok(Analysis {
            identity: Some(identity),
            severity: Some(spec.severity_for(&[], None)),
            error: Some(format!(
                "permissions not readable (HTTP {}: {said})",
                resp.status
            )),
            ..Analysis::default()
        });
    }
    let scopes: Vec<String> = body
        .as_ref()
        .and_then(|b| b.get("permissions"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .filter(|p| PERMISSIONS.contains(p))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Ok(Analysis {
        identity: Some(identity),
        severity: Some(spec.severity_for(&scopes, None)),
        scopes,
        expires: None,
        error: None,
    })
}
