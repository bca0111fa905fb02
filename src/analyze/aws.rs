//! AWS access keys: `sts:GetCallerIdentity` names the account and principal
//! (it needs no permission), then for an IAM user `iam:ListAttachedUserPolicies`
//! and `iam:ListUserPolicies`, which many keys may not call: a refusal is
//! reported, not guessed around. All three are reads.
//!
//! <https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html>,
//! <https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListAttachedUserPolicies.html>,
//! <https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListUserPolicies.html>

use std::collections::BTreeMap;

use super::AnalyzeError;
use crate::finding::Analysis;
use crate::net::{encode_url_value, Response};
use crate::rules::AnalyzeSpec;
use crate::validate::aws::xml_text;
use crate::validate::Validator;

const STS_URL: &str = "https://sts.amazonaws.com/";
const IAM_URL: &str = "https://iam.amazonaws.com/";

pub(super) fn run(
    v: &Validator,
    provider: &str,
    spec: &AnalyzeSpec,
    secret: &str,
    parts: &BTreeMap<String, String>,
) -> Result<Analysis, AnalyzeError> {
    let key_id = parts
        .get("key_id")
        .ok_or_else(|| AnalyzeError::MissingPart("key_id".into()))?;
    let session = parts.get("session_token").map(String::as_str);
    let call = |url: &str, service: &str, body: &str| -> Result<Response, AnalyzeError> {
        let r = v.aws_call(provider, url, service, body, key_id, secret, session)?;
        Ok(r)
    };
    let who = call(
        STS_URL,
        "sts",
        "Action=GetCallerIdentity&Version=2011-06-15",
    )?;
    if who.status != 200 {
        return Err(status_error(&who));
    }
    let arn = xml_text(&who.body, "Arn").unwrap_or_default();
    let account = xml_text(&who.body, "Account").unwrap_or_default();
    let mut scopes = Vec::new();
    let mut error = None;
    if arn.ends_with(":root") {
        scopes.push("root".to_string());
    } else if let Some(user) = arn.split(":user/").nth(1) {
        // A user's name is the last path segment of its ARN.
        let name = user.rsplit('/').next().unwrap_or(user);
        let q = |action: &str| {
            format!(
                "Action={action}&UserName={}&Version=2010-05-08",
                encode_url_value(name)
            )
        };
        match policies(
            &call,
            &q("ListAttachedUserPolicies"),
            &q("ListUserPolicies"),
        ) {
            Ok(found) => scopes.extend(found),
            Err(AnalyzeError::Status { said, .. }) if !said.is_empty() => {
                error = Some(format!("policies not readable ({said})"));
            }
            Err(e) => error = Some(format!("policies not readable ({e})")),
        }
    } else {
        error = Some("an assumed role or federated user: its policies are not listed".into());
    }
    let identity = if account.is_empty() {
        arn.clone()
    } else {
        format!("{arn} (account {account})")
    };
    Ok(Analysis {
        identity: (!identity.is_empty()).then_some(identity),
        severity: Some(spec.severity_for(&scopes, None)),
        scopes,
        expires: None,
        error,
    })
}

/// `policy:NAME` for each managed policy attached to the user and
/// `inline:NAME` for each inline one.
///
/// # Errors
///
/// Why they are not readable: no answer, or IAM's refusal (its error code).
fn policies(
    call: &dyn Fn(&str, &str, &str) -> Result<Response, AnalyzeError>,
    attached: &str,
    inline: &str,
) -> Result<Vec<String>, AnalyzeError> {
    let mut out = Vec::new();
    for (body, tag, prefix) in [
        (attached, "PolicyName", "policy:"),
        (inline, "member", "inline:"),
    ] {
        let r = call(IAM_URL, "iam", body)?;
        if r.status != 200 {
            return Err(status_error(&r));
        }
        out.extend(
            xml_all(&r.body, tag)
                .into_iter()
                .map(|n| format!("{prefix}{n}")),
        );
    }
    Ok(out)
}

fn status_error(r: &Response) -> AnalyzeError {
    AnalyzeError::Status {
        status: r.status,
        said: xml_text(&r.body, "Code").unwrap_or_default(),
    }
}

/// The text of every `<tag>…</tag>` without nested elements; IAM answers
/// are small and flat.
fn xml_all(body: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(i) = rest.find(&open) {
        rest = &rest[i + open.len()..];
        let Some(j) = rest.find(&close) else { break };
        let t = rest[..j].trim();
        if !t.contains('<') && !t.is_empty() {
            out.push(t.to_string());
        }
        rest = &rest[j..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_all_reads_flat_members_only() {
        let body =
            "<AttachedPolicies><member><PolicyName>AdministratorAccess</PolicyName></member>\
                    <member><PolicyName>ReadOnlyAccess</PolicyName></member></AttachedPolicies>";
        assert_eq!(
            xml_all(body, "PolicyName"),
            ["AdministratorAccess", "ReadOnlyAccess"]
        );
        assert!(xml_all(body, "member").is_empty());
        assert_eq!(
            xml_all(
                "<PolicyNames><member>deploy</member></PolicyNames>",
                "member"
            ),
            ["deploy"]
        );
    }
}
