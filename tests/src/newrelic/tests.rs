//! The NerdGraph stand-in over real HTTP (reqwest), as the New Relic provider sees it.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{
    HostSeed, NerdGraphFault, NerdGraphFaultRule, NewRelicOptions, NewRelicStandIn, ObjectKind, PageSizes,
};
use crate::datadog::FaultKind;

const KEY: &str = "NRAK-TESTKEY1";
const OTHER_KEY: &str = "NRAK-OTHERKEY2";

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
    text: String,
}

impl Answer {
    fn errors(&self) -> Vec<Value> {
        self.body["errors"].as_array().cloned().unwrap_or_default()
    }

    fn error_classes(&self) -> Vec<String> {
        self.errors()
            .iter()
            .map(|e| e["extensions"]["errorClass"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    fn data(&self) -> &Value {
        assert!(self.errors().is_empty(), "unexpected errors: {:#}", self.body);
        assert_eq!(self.status, 200);
        &self.body["data"]
    }
}

struct Client {
    http: reqwest::Client,
    url: String,
    key: Option<String>,
}

impl Client {
    fn new(server: &NewRelicStandIn, key: &str) -> Self {
        Client { http: reqwest::Client::new(), url: server.graphql_url(), key: Some(key.to_owned()) }
    }

    async fn send(&self, body: Value) -> Answer {
        let mut req =
            self.http.post(&self.url).header("content-type", "application/json").body(body.to_string());
        if let Some(key) = &self.key {
            req = req.header("API-Key", key);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body read");
        let body =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("answer is not JSON ({e}): {text:?}"));
        Answer { status, headers, body, text }
    }

    async fn gql(&self, query: &str, variables: Value) -> Answer {
        self.send(json!({"query": query, "variables": variables})).await
    }

    /// Data of a request that must succeed.
    async fn ok(&self, query: &str, variables: Value) -> Value {
        self.gql(query, variables).await.data().clone()
    }
}

fn start() -> NewRelicStandIn {
    NewRelicStandIn::start(NewRelicOptions::default()).expect("stand-in starts")
}

const CREATE_POLICY: &str = "mutation($accountId: Int!, $policy: AlertsPolicyInput!) {
  alertsPolicyCreate(accountId: $accountId, policy: $policy) { id name incidentPreference accountId }
}";

const CONDITION_FIELDS: &str = "
    id name enabled policyId type violationTimeLimit violationTimeLimitSeconds
    description runbookUrl ... on AlertsNrqlStaticCondition { valueFunction }
    nrql { query dataAccountId }
    signal { aggregationMethod aggregationDelay aggregationTimer aggregationWindow fillOption fillValue slideBy }
    expiration { expirationDuration openViolationOnExpiration closeViolationsOnExpiration ignoreOnExpectedTermination }
    terms { operator priority threshold thresholdDuration thresholdOccurrences }
    entityGuid createdAt updatedBy { id }";

fn create_condition_doc() -> String {
    format!(
        "mutation($accountId: Int!, $policyId: ID!, $condition: AlertsNrqlConditionStaticInput!) {{
          alertsNrqlConditionStaticCreate(accountId: $accountId, policyId: $policyId, condition: $condition) {{ {CONDITION_FIELDS} }}
        }}"
    )
}

fn minimal_condition(name: &str) -> Value {
    json!({
        "name": name,
        "enabled": true,
        "nrql": {"query": "SELECT average(cpuPercent) FROM SystemSample"},
        "terms": [{
            "operator": "ABOVE",
            "priority": "CRITICAL",
            "threshold": 90,
            "thresholdDuration": 300,
            "thresholdOccurrences": "ALL",
        }],
    })
}

async fn create_policy(c: &Client, account: i64, name: &str) -> String {
    let data = c
        .ok(
            CREATE_POLICY,
            json!({"accountId": account, "policy": {"name": name, "incidentPreference": "PER_POLICY"}}),
        )
        .await;
    data["alertsPolicyCreate"]["id"].as_str().expect("policy id").to_owned()
}

/// A policy with one minimal NRQL condition (named `cpu`); returns both ids.
async fn create_condition(c: &Client, account: i64) -> (String, String) {
    let policy = create_policy(c, account, "p").await;
    let created = c
        .ok(
            &create_condition_doc(),
            json!({"accountId": account, "policyId": policy, "condition": minimal_condition("cpu")}),
        )
        .await;
    let id = created["alertsNrqlConditionStaticCreate"]["id"].as_str().expect("condition id").to_owned();
    (policy, id)
}

#[tokio::test]
async fn policies_round_trip() {
    let server = start();
    let c = Client::new(&server, KEY);
    let account = server.account_id(KEY);
    let data = c
        .ok(
            CREATE_POLICY,
            json!({"accountId": account, "policy": {"name": "web", "incidentPreference": "PER_CONDITION"}}),
        )
        .await;
    let policy = &data["alertsPolicyCreate"];
    let id = policy["id"].as_str().expect("id").to_owned();
    assert_eq!(
        policy,
        &json!({"id": id, "name": "web", "incidentPreference": "PER_CONDITION", "accountId": account})
    );

    let read = "query($a: Int!, $id: ID!) { actor { account(id: $a) { alerts {
        policy(id: $id) { id name incidentPreference }
        policiesSearch(searchCriteria: {nameLike: \"WE\"}) { totalCount nextCursor policies { id name } }
    } } } }";
    let data = c.ok(read, json!({"a": account, "id": id})).await;
    let alerts = &data["actor"]["account"]["alerts"];
    assert_eq!(alerts["policy"]["name"], "web");
    assert_eq!(
        alerts["policiesSearch"],
        json!({"totalCount": 1, "nextCursor": null, "policies": [{"id": id, "name": "web"}]})
    );

    let update = "mutation($a: Int!, $id: ID!) { alertsPolicyUpdate(accountId: $a, id: $id, policy: {name: \"web-2\"}) { id name incidentPreference } }";
    let data = c.ok(update, json!({"a": account, "id": id})).await;
    assert_eq!(
        data["alertsPolicyUpdate"],
        json!({"id": id, "name": "web-2", "incidentPreference": "PER_CONDITION"})
    );

    let delete = "mutation($a: Int!, $id: ID!) { alertsPolicyDelete(accountId: $a, id: $id) { id } }";
    assert_eq!(c.ok(delete, json!({"a": account, "id": id})).await["alertsPolicyDelete"]["id"], json!(id));
    let again = c.gql(delete, json!({"a": account, "id": id})).await;
    assert_eq!(again.error_classes(), ["NOT_FOUND"]);
    assert_eq!(again.body["data"], json!({"alertsPolicyDelete": null}));
    assert_eq!(again.errors()[0]["path"], json!(["alertsPolicyDelete"]));
    assert!(server.objects(KEY, ObjectKind::Policy).is_empty());
    assert!(server.invalid_documents().is_empty());
}

#[tokio::test]
async fn unknown_field_is_refused_with_its_location() {
    let server = start();
    let c = Client::new(&server, KEY);
    let query = "{\n  actor {\n    accounts { id nmae }\n  }\n}";
    let a = c.gql(query, json!({})).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["data"], Value::Null);
    let errors = a.errors();
    assert_eq!(errors.len(), 1, "{:#}", a.body);
    assert_eq!(errors[0]["message"], "Cannot query field \"nmae\" on type \"AccountOutline\".");
    assert_eq!(errors[0]["locations"], json!([{"line": 3, "column": 19}]));
    assert_eq!(errors[0]["extensions"]["errorClass"], "GRAPHQL_VALIDATION_FAILED");

    let syntax = c.gql("{ actor { ", json!({})).await;
    assert_eq!(syntax.error_classes()[0], "GRAPHQL_PARSE_FAILED");

    let docs = server.documents();
    assert_eq!(docs.len(), 2);
    assert!(!docs[0].valid);
    assert_eq!(docs[0].root_fields, ["actor"]);
    assert_eq!(docs[0].errors[0].locations, [(3, 19)]);
    assert_eq!(server.invalid_documents().len(), 2);
}

#[tokio::test]
async fn wrong_argument_types_are_refused() {
    let server = start();
    let c = Client::new(&server, KEY);
    let account = server.account_id(KEY);

    let a = c.gql("{ actor { account(id: \"abc\") { id } } }", json!({})).await;
    assert_eq!(a.body["data"], Value::Null);
    assert_eq!(a.error_classes(), ["GRAPHQL_VALIDATION_FAILED"]);
    assert_eq!(a.errors()[0]["locations"], json!([{"line": 1, "column": 23}]));

    let missing = c.gql("{ actor { account { id } } }", json!({})).await;
    assert!(
        missing.errors()[0]["message"].as_str().unwrap_or_default().contains("\"id\""),
        "{:#}",
        missing.body
    );

    let enum_case = format!(
        "mutation {{ alertsPolicyCreate(accountId: {account}, policy: {{name: \"x\", incidentPreference: per_policy}}) {{ id }} }}"
    );
    let a = c.gql(&enum_case, json!({})).await;
    assert!(a.errors()[0]["message"].as_str().unwrap_or_default().contains("per_policy"), "{:#}", a.body);

    // A custom scalar typed as a duration in seconds does not take a string.
    let scalar = format!(
        "mutation {{ alertsNrqlConditionStaticCreate(accountId: {account}, policyId: 1, condition: {{
            name: \"c\", enabled: true, nrql: {{query: \"SELECT 1\"}}, violationTimeLimitSeconds: \"3 days\"}}) {{ id }} }}"
    );
    let a = c.gql(&scalar, json!({})).await;
    assert_eq!(a.error_classes(), ["GRAPHQL_VALIDATION_FAILED"], "{:#}", a.body);
    assert!(a.errors()[0]["message"].as_str().unwrap_or_default().contains("Seconds"));

    // New Relic's Int holds 53 bits: a valid document, refused only because the account is not ours.
    let big = c.gql("{ actor { account(id: 4000000000) { id } } }", json!({})).await;
    assert_eq!(big.error_classes(), ["FORBIDDEN"], "{:#}", big.body);
    assert_eq!(big.body["data"], json!({"actor": {"account": null}}));
    assert_eq!(server.invalid_documents().len(), 4);
}

#[tokio::test]
async fn bad_variables_are_refused() {
    let server = start();
    let c = Client::new(&server, KEY);
    let account = server.account_id(KEY);

    let a = c
        .gql(
            CREATE_POLICY,
            json!({"accountId": "abc", "policy": {"name": "p", "incidentPreference": "PER_POLICY"}}),
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["data"], Value::Null);
    assert_eq!(a.error_classes(), ["BAD_USER_INPUT"]);
    assert_eq!(
        a.errors()[0]["message"],
        "Variable \"$accountId\" got invalid value \"abc\"; Int cannot represent non-integer value: \"abc\""
    );
    assert_eq!(a.errors()[0]["locations"], json!([{"line": 1, "column": 10}]));

    let a = c
        .gql(
            CREATE_POLICY,
            json!({"accountId": account, "policy": {"name": "p", "incidentPreference": "per_policy"}}),
        )
        .await;
    assert_eq!(
        a.errors()[0]["message"],
        "Variable \"$policy\" got invalid value {\"name\":\"p\",\"incidentPreference\":\"per_policy\"} at \"policy.incidentPreference\"; Value \"per_policy\" does not exist in \"AlertsIncidentPreference\" enum."
    );

    let a = c.gql(CREATE_POLICY, json!({"accountId": account, "policy": {"name": "p"}})).await;
    assert!(a.errors()[0]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("Field \"incidentPreference\" of required type"));

    let a = c.gql(CREATE_POLICY, json!({"accountId": account, "policy": {"name": "p", "incidentPreference": "PER_POLICY", "color": 1}})).await;
    assert!(a.errors()[0]["message"].as_str().unwrap_or_default().contains("Field \"color\" is not defined"));

    let a = c.gql(CREATE_POLICY, json!({"policy": {"name": "p", "incidentPreference": "PER_POLICY"}})).await;
    assert_eq!(
        a.errors()[0]["message"],
        "Variable \"$accountId\" of required type \"Int!\" was not provided."
    );

    let mut condition = minimal_condition("c");
    condition["terms"][0]["thresholdDuration"] = json!("5 minutes");
    let a = c
        .gql(&create_condition_doc(), json!({"accountId": account, "policyId": "1", "condition": condition}))
        .await;
    assert!(
        a.errors()[0]["message"].as_str().unwrap_or_default().contains(
            "at \"condition.terms[0].thresholdDuration\"; Seconds cannot represent non-integer value"
        ),
        "{:#}",
        a.body
    );

    // A variable declared with a type that does not fit where it is used is a document error.
    let a = c.gql("query($id: String!) { actor { account(id: $id) { id } } }", json!({"id": "1"})).await;
    assert_eq!(a.error_classes(), ["GRAPHQL_VALIDATION_FAILED"]);
    assert_eq!(server.invalid_documents().len(), 7);
    assert!(server.objects(KEY, ObjectKind::Policy).is_empty(), "nothing ran");
}

#[tokio::test]
async fn api_key_is_required() {
    let server = start();
    let anonymous = Client { http: reqwest::Client::new(), url: server.graphql_url(), key: None };
    let a = anonymous.gql("{ actor { accounts { id } } }", json!({})).await;
    assert_eq!(a.status, 401);
    assert_eq!(a.body["errors"][0]["message"], "Bad API Key or no API Key provided");
    assert_eq!(a.body["errors"][0]["extensions"]["error_code"], "BAD_API_KEY");
    let wrong = Client::new(&server, "not-a-user-key");
    assert_eq!(wrong.gql("{ actor { accounts { id } } }", json!({})).await.status, 401);
    assert!(server.documents().is_empty(), "refused before validation");
    assert_eq!(server.request_count(), 2);
}

#[tokio::test]
async fn keys_are_isolated() {
    let server = start();
    let (a, b) = (Client::new(&server, KEY), Client::new(&server, OTHER_KEY));
    let (account_a, account_b) = (server.account_id(KEY), server.account_id(OTHER_KEY));
    assert_ne!(account_a, account_b);
    let accounts = a.ok("{ actor { accounts { id name } } }", json!({})).await;
    assert_eq!(
        accounts["actor"]["accounts"],
        json!([{"id": account_a, "name": format!("Sandbox account {account_a}")}])
    );
    create_policy(&a, account_a, "mine").await;
    let stolen = b
        .gql(
            CREATE_POLICY,
            json!({"accountId": account_a, "policy": {"name": "x", "incidentPreference": "PER_POLICY"}}),
        )
        .await;
    assert_eq!(stolen.error_classes(), ["FORBIDDEN"]);
    let peek = b
        .gql(
            "query($a: Int!) { actor { account(id: $a) { alerts { policiesSearch { totalCount } } } } }",
            json!({"a": account_a}),
        )
        .await;
    assert_eq!(peek.error_classes(), ["FORBIDDEN"]);
    assert_eq!(peek.body["data"]["actor"]["account"], Value::Null);
    assert!(server.objects(OTHER_KEY, ObjectKind::Policy).is_empty());
    assert_eq!(server.objects(KEY, ObjectKind::Policy).len(), 1);
    server.add_account(KEY, 42, "second");
    assert_eq!(server.accounts(KEY).len(), 2);
    create_policy(&a, 42, "in the second account").await;
}

#[tokio::test]
async fn condition_defaults_are_applied_and_read_back() {
    let server = start();
    let c = Client::new(&server, KEY);
    let account = server.account_id(KEY);
    let policy = create_policy(&c, account, "p").await;
    let created = c
        .ok(
            &create_condition_doc(),
            json!({"accountId": account, "policyId": policy, "condition": minimal_condition("cpu")}),
        )
        .await["alertsNrqlConditionStaticCreate"]
        .clone();
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(created["violationTimeLimitSeconds"], 259200);
    assert_eq!(created["violationTimeLimit"], "NON_MATCHABLE_LIMIT_VALUE");
    assert_eq!(created["valueFunction"], "SINGLE_VALUE");
    assert_eq!(created["type"], "STATIC");
    assert_eq!(created["policyId"], json!(policy));
    assert_eq!(
        created["signal"],
        json!({"aggregationMethod": "EVENT_FLOW", "aggregationDelay": 120, "aggregationTimer": null,
               "aggregationWindow": 60, "fillOption": "NONE", "fillValue": null, "slideBy": null})
    );
    assert_eq!(
        created["expiration"],
        json!({"expirationDuration": null, "openViolationOnExpiration": false,
               "closeViolationsOnExpiration": false, "ignoreOnExpectedTermination": false})
    );
    assert_eq!(created["terms"][0]["threshold"], json!(90.0), "Float comes back as a float");
    assert_eq!(created["description"], Value::Null);
    assert!(created["entityGuid"].as_str().is_some_and(|g| !g.is_empty()));

    let read = format!(
        "query($a: Int!, $id: ID!) {{ actor {{ account(id: $a) {{ alerts {{ nrqlCondition(id: $id) {{ {CONDITION_FIELDS} }} }} }} }} }}"
    );
    let data = c.ok(&read, json!({"a": account, "id": id})).await;
    assert_eq!(
        data["actor"]["account"]["alerts"]["nrqlCondition"], created,
        "read gives what create answered"
    );

    // An EVENT_TIMER condition gets a timer and no delay; a switch back gets the delay again.
    let update = format!(
        "mutation($a: Int!, $id: ID!, $c: AlertsNrqlConditionUpdateStaticInput!) {{
            alertsNrqlConditionStaticUpdate(accountId: $a, id: $id, condition: $c) {{ {CONDITION_FIELDS} }} }}"
    );
    let data = c
        .ok(&update, json!({"a": account, "id": id, "c": {"signal": {"aggregationMethod": "EVENT_TIMER"}, "violationTimeLimitSeconds": 86400}}))
        .await;
    let updated = &data["alertsNrqlConditionStaticUpdate"];
    assert_eq!(updated["signal"]["aggregationTimer"], 60);
    assert_eq!(updated["signal"]["aggregationDelay"], Value::Null);
    assert_eq!(updated["violationTimeLimit"], "TWENTY_FOUR_HOURS");
    assert_eq!(updated["name"], "cpu", "untouched members stay");
    let data = c
        .ok(&update, json!({"a": account, "id": id, "c": {"signal": {"aggregationMethod": "CADENCE"}}}))
        .await;
    assert_eq!(data["alertsNrqlConditionStaticUpdate"]["signal"]["aggregationDelay"], 120);
    assert_eq!(data["alertsNrqlConditionStaticUpdate"]["signal"]["aggregationTimer"], Value::Null);
}

#[tokio::test]
async fn condition_business_rules_are_enforced() {
    let server = start();
    let c = Client::new(&server, KEY);
    let account = server.account_id(KEY);
    let policy = create_policy(&c, account, "p").await;
    let mut bad = minimal_condition("cpu");
    bad["terms"][0]["thresholdDuration"] = json!(90);
    bad["signal"] =
        json!({"aggregationMethod": "EVENT_TIMER", "aggregationDelay": 60, "fillOption": "STATIC"});
    let a = c
        .gql(&create_condition_doc(), json!({"accountId": account, "policyId": policy, "condition": bad}))
        .await;
    assert_eq!(a.error_classes(), ["BAD_USER_INPUT"]);
    assert_eq!(a.body["data"], json!({"alertsNrqlConditionStaticCreate": null}));
    let errors = a.errors();
    let names: Vec<&str> = errors[0]["extensions"]["validationErrors"]
        .as_array()
        .expect("validationErrors")
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert_eq!(names, ["signal.aggregationDelay", "signal.fillValue", "terms[0].thresholdDuration"]);

    let mut no_critical = minimal_condition("cpu");
    no_critical["terms"][0]["priority"] = json!("WARNING");
    let a = c
        .gql(
            &create_condition_doc(),
            json!({"accountId": account, "policyId": policy, "condition": no_critical}),
        )
        .await;
    assert!(a.errors()[0]["message"].as_str().unwrap_or_default().contains("exactly one CRITICAL term"));

    let a = c
        .gql(
            &create_condition_doc(),
            json!({"accountId": account, "policyId": "999", "condition": minimal_condition("x")}),
        )
        .await;
    assert_eq!(a.error_classes(), ["NOT_FOUND"]);
    assert!(server.objects(KEY, ObjectKind::NrqlCondition).is_empty());
    assert!(server.invalid_documents().is_empty(), "business errors are not validation errors");
}

#[tokio::test]
async fn condition_pages_cover_every_condition() {
    let server = start();
    let c = Client::new(&server, KEY);
    let account = server.account_id(KEY);
    let policy = create_policy(&c, account, "p").await;
    // 120 creates in 4 documents of 30 aliased mutations (run in order, like NerdGraph).
    for batch in 0..4 {
        let mut doc = String::from("mutation($a: Int!, $p: ID!) {\n");
        for i in 0..30 {
            let n = batch * 30 + i;
            doc.push_str(&format!(
                "  c{n}: alertsNrqlConditionStaticCreate(accountId: $a, policyId: $p, condition: {{
                    name: \"cond-{n:03}\", enabled: true, nrql: {{query: \"SELECT count(*) FROM T{n}\"}},
                    terms: [{{operator: ABOVE, priority: CRITICAL, threshold: {n}, thresholdDuration: 120, thresholdOccurrences: ALL}}]
                }}) {{ id }}\n"
            ));
        }
        doc.push('}');
        let data = c.ok(&doc, json!({"a": account, "p": policy})).await;
        assert_eq!(data.as_object().map(|m| m.len()), Some(30));
    }
    let search = "query($a: Int!, $cursor: String) { actor { account(id: $a) { alerts {
        nrqlConditionsSearch(cursor: $cursor) { totalCount nextCursor nrqlConditions { id name } } } } } }";
    let mut names = Vec::new();
    let mut cursor = Value::Null;
    let mut pages = 0;
    loop {
        let data = c.ok(search, json!({"a": account, "cursor": cursor})).await;
        let result = &data["actor"]["account"]["alerts"]["nrqlConditionsSearch"];
        assert_eq!(result["totalCount"], 120);
        let page = result["nrqlConditions"].as_array().expect("list");
        assert!(page.len() <= 50);
        names.extend(page.iter().map(|c| c["name"].as_str().unwrap_or_default().to_owned()));
        pages += 1;
        cursor = result["nextCursor"].clone();
        if cursor.is_null() {
            break;
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (0..120).map(|n| format!("cond-{n:03}")).collect();
    assert_eq!(names, expected);

    let filtered = c
        .ok(
            "query($a: Int!) { actor { account(id: $a) { alerts { nrqlConditionsSearch(searchCriteria: {queryLike: \"t11\"}) { totalCount } } } } }",
            json!({"a": account}),
        )
        .await;
    assert_eq!(
        filtered["actor"]["account"]["alerts"]["nrqlConditionsSearch"]["totalCount"], 11,
        "T11, T110..T119"
    );
    let bad = c.gql(search, json!({"a": account, "cursor": "bogus"})).await;
    assert_eq!(bad.error_classes(), ["BAD_USER_INPUT"]);
}

#[tokio::test]
async fn fragments_aliases_and_typename_are_projected() {
    let server = start();
    let c = Client::new(&server, KEY);
    let account = server.account_id(KEY);
    let policy = create_policy(&c, account, "p").await;
    c.ok(
        &create_condition_doc(),
        json!({"accountId": account, "policyId": policy, "condition": minimal_condition("cpu")}),
    )
    .await;
    let query = "
        query Read($a: Int!, $withTerms: Boolean!) {
          actor {
            acct: account(id: $a) {
              alerts {
                search: nrqlConditionsSearch {
                  nrqlConditions {
                    __typename
                    ...Base
                    ... on AlertsNrqlStaticCondition { valueFunction fn: valueFunction }
                    terms @include(if: $withTerms) { __typename level: priority }
                  }
                }
              }
            }
          }
        }
        fragment Base on AlertsNrqlCondition { label: name enabled signal { window: aggregationWindow } }";
    let data = c.ok(query, json!({"a": account, "withTerms": true})).await;
    assert_eq!(
        data,
        json!({"actor": {"acct": {"alerts": {"search": {"nrqlConditions": [{
            "__typename": "AlertsNrqlStaticCondition",
            "label": "cpu",
            "enabled": true,
            "signal": {"window": 60},
            "valueFunction": "SINGLE_VALUE",
            "fn": "SINGLE_VALUE",
            "terms": [{"__typename": "AlertsNrqlConditionTermsWithPrediction", "level": "CRITICAL"}],
        }]}}}}})
    );
    let without = c.ok(query, json!({"a": account, "withTerms": false})).await;
    assert!(without["actor"]["acct"]["alerts"]["search"]["nrqlConditions"][0].get("terms").is_none());
    let root = c.ok("{ __typename }", json!({})).await;
    assert_eq!(root, json!({"__typename": "RootQueryType"}));
    // Introspection, with the SDL's spurious `@deprecated(reason: "")` marks dropped.
    let intro =
        c.ok("{ __type(name: \"AlertsIncidentPreference\") { kind enumValues { name } } }", json!({})).await;
    assert_eq!(
        intro["__type"],
        json!({"kind": "ENUM", "enumValues": [{"name": "PER_CONDITION"}, {"name": "PER_CONDITION_AND_TARGET"}, {"name": "PER_POLICY"}]})
    );
}

#[tokio::test]
async fn unimplemented_fields_are_errors_not_nulls() {
    let server = start();
    let c = Client::new(&server, KEY);
    let a = c.gql("{ actor { user { id } accounts { id } } }", json!({})).await;
    assert_eq!(a.error_classes(), ["STAND_IN_NOT_IMPLEMENTED"]);
    assert_eq!(a.errors()[0]["path"], json!(["actor", "user"]));
    assert!(a.errors()[0]["message"].as_str().unwrap_or_default().contains("`Actor.user`"));
    assert!(a.body["data"]["actor"]["accounts"].is_array(), "the rest still answers");
    let account = server.account_id(KEY);
    let m = c
        .gql(
            "mutation($a: Int!) { alertsNotificationChannelDelete(accountId: $a, id: 1) { id } }",
            json!({"a": account}),
        )
        .await;
    assert_eq!(m.error_classes(), ["STAND_IN_NOT_IMPLEMENTED"]);
    assert!(server.invalid_documents().is_empty(), "valid documents, unimplemented fields");
}

const CREATE_DESTINATION: &str = "mutation($a: Int!, $d: AiNotificationsDestinationInput!) {
  aiNotificationsCreateDestination(accountId: $a, destination: $d) {
    destination { id name type active status properties { key value }
      auth { __typename ... on AiNotificationsTokenAuth { authType prefix }
             ... on AiNotificationsCustomHeadersAuth { authType customHeaders { key } } }
      secureUrl { prefix } }
    error { __typename
      ... on AiNotificationsResponseError { type description }
      ... on AiNotificationsDataValidationError { details fields { field message } } }
    errors { __typename }
  }
}";

const CREATE_CHANNEL: &str = "mutation($a: Int!, $c: AiNotificationsChannelInput!) {
  aiNotificationsCreateChannel(accountId: $a, channel: $c) {
    channel { id name type product destinationId active status properties { key value } }
    error { __typename ... on AiNotificationsResponseError { type description }
            ... on AiNotificationsDataValidationError { fields { field } } }
  }
}";

#[tokio::test]
async fn secrets_are_stored_but_never_returned() {
    let server = start();
    let c = Client::new(&server, KEY);
    let account = server.account_id(KEY);
    let pd = c
        .ok(
            CREATE_DESTINATION,
            json!({"a": account, "d": {"name": "pager", "type": "PAGERDUTY_SERVICE_INTEGRATION", "properties": [],
                   "auth": {"type": "TOKEN", "token": {"token": "pd-integration-key-s3cret", "prefix": "Token"}}}}),
        )
        .await;
    let pd = &pd["aiNotificationsCreateDestination"];
    assert_eq!(pd["error"], Value::Null);
    assert_eq!(
        pd["destination"]["auth"],
        json!({"__typename": "AiNotificationsTokenAuth", "authType": "TOKEN", "prefix": "Token"})
    );
    let hook = c
        .ok(
            CREATE_DESTINATION,
            json!({"a": account, "d": {"name": "hook", "type": "WEBHOOK", "properties": [{"key": "url", "value": "https://hooks.example.com/in"}],
                   "secureUrl": {"prefix": "https://hooks.example.com/", "secureSuffix": "path-s3cret"},
                   "auth": {"type": "CUSTOM_HEADERS", "customHeaders": {"customHeaders": [{"key": "X-Api-Key", "value": "header-s3cret"}]}}}}),
        )
        .await;
    let hook_id =
        hook["aiNotificationsCreateDestination"]["destination"]["id"].as_str().expect("id").to_owned();
    let everything = c
        .gql(
            "query($a: Int!) { actor { account(id: $a) { aiNotifications { destinations {
                totalCount entities { id name type properties { key value label displayValue }
                auth { ... on AiNotificationsTokenAuth { prefix } ... on AiNotificationsCustomHeadersAuth { customHeaders { key } } }
                secureUrl { prefix } } } } } } }",
            json!({"a": account}),
        )
        .await;
    assert_eq!(
        everything.body["data"]["actor"]["account"]["aiNotifications"]["destinations"]["totalCount"],
        2
    );
    assert!(!everything.text.contains("s3cret"), "a secret leaked: {}", everything.text);
    assert!(!pd.to_string().contains("s3cret") && !hook.to_string().contains("s3cret"));
    let stored = server.destination_secrets(KEY, &hook_id).expect("secrets kept");
    assert_eq!(stored["secureUrl"]["secureSuffix"], "path-s3cret");
    assert_eq!(stored["auth"]["customHeaders"][0]["value"], "header-s3cret");
    for d in server.objects(KEY, ObjectKind::Destination) {
        assert!(!d.to_string().contains("s3cret"), "secrets are kept apart from the object");
    }
}

#[tokio::test]
async fn notification_business_errors_come_back_inside_data() {
    let server = start();
    let c = Client::new(&server, KEY);
    let account = server.account_id(KEY);
    let email =
        |addr: &str| json!({"name": "ops", "type": "EMAIL", "properties": [{"key": "email", "value": addr}]});

    let a =
        c.gql(CREATE_DESTINATION, json!({"a": account, "d": email("ops@example.com, not-an-address")})).await;
    assert!(a.errors().is_empty(), "typed errors are in data: {:#}", a.body);
    let r = &a.body["data"]["aiNotificationsCreateDestination"];
    assert_eq!(r["destination"], Value::Null);
    assert_eq!(r["error"]["__typename"], "AiNotificationsDataValidationError");
    assert_eq!(r["error"]["fields"][0]["field"], "email");
    assert_eq!(r["errors"], json!([{"__typename": "AiNotificationsDataValidationError"}]));

    let ok = c.ok(CREATE_DESTINATION, json!({"a": account, "d": email("ops@example.com")})).await;
    let dest_id =
        ok["aiNotificationsCreateDestination"]["destination"]["id"].as_str().expect("id").to_owned();
    let dup = c.ok(CREATE_DESTINATION, json!({"a": account, "d": email("other@example.com")})).await;
    assert_eq!(dup["aiNotificationsCreateDestination"]["error"]["type"], "INVALID_PARAMETER");
    let foreign = c.ok(CREATE_DESTINATION, json!({"a": 1, "d": email("ops@example.com")})).await;
    assert_eq!(foreign["aiNotificationsCreateDestination"]["error"]["type"], "UNAUTHORIZED_ACCOUNT");
    let slack = c
        .ok(CREATE_DESTINATION, json!({"a": account, "d": {"name": "s", "type": "SLACK", "properties": []}}))
        .await;
    assert_eq!(
        slack["aiNotificationsCreateDestination"]["error"]["__typename"],
        "AiNotificationsDataValidationError"
    );

    let channel = |ty: &str| {
        json!({"a": account, "c": {"name": "ops-ch", "type": ty, "product": "IINT", "destinationId": dest_id,
        "properties": [{"key": "subject", "value": "{{ issueTitle }}"}]}})
    };
    let wrong = c.ok(CREATE_CHANNEL, channel("WEBHOOK")).await;
    assert_eq!(wrong["aiNotificationsCreateChannel"]["error"]["type"], "INVALID_PARAMETER");
    let ch = c.ok(CREATE_CHANNEL, channel("EMAIL")).await;
    let ch = &ch["aiNotificationsCreateChannel"]["channel"];
    assert_eq!(ch["status"], "DEFAULT");
    assert_eq!(ch["destinationId"], json!(dest_id));

    let delete =
        "mutation($a: Int!, $id: ID!) { aiNotificationsDeleteDestination(accountId: $a, destinationId: $id) {
        ids error { type description } errors { type } } }";
    let in_use = c.ok(delete, json!({"a": account, "id": dest_id})).await;
    assert_eq!(in_use["aiNotificationsDeleteDestination"]["error"]["type"], "ENTITY_IN_USE");
    assert_eq!(in_use["aiNotificationsDeleteDestination"]["ids"], Value::Null);

    let channels = c
        .ok(
            "query($a: Int!, $d: ID) { actor { account(id: $a) { aiNotifications {
                channels(filters: {destinationId: $d}) { totalCount entities { name } error { type } errors { type } } } } } }",
            json!({"a": account, "d": dest_id}),
        )
        .await;
    assert_eq!(
        channels["actor"]["account"]["aiNotifications"]["channels"],
        json!({"totalCount": 1, "entities": [{"name": "ops-ch"}], "error": null, "errors": []})
    );
}

#[tokio::test]
async fn workflows_round_trip_with_typed_errors() {
    let server = start();
    let c = Client::new(&server, KEY);
    let account = server.account_id(KEY);
    let dest = c
        .ok(
            CREATE_DESTINATION,
            json!({"a": account, "d": {"name": "hook", "type": "WEBHOOK",
            "properties": [{"key": "url", "value": "https://hooks.example.com/x"}]}}),
        )
        .await["aiNotificationsCreateDestination"]["destination"]["id"]
        .as_str()
        .expect("dest")
        .to_owned();
    let channel = |name: &str| {
        json!({"a": account, "c": {"name": name, "type": "WEBHOOK", "product": "IINT",
        "destinationId": dest, "properties": [{"key": "payload", "value": "{}"}]}})
    };
    let ch1 = c.ok(CREATE_CHANNEL, channel("one")).await["aiNotificationsCreateChannel"]["channel"]["id"]
        .as_str()
        .expect("ch")
        .to_owned();
    let create = "mutation($a: Int!, $w: AiWorkflowsCreateWorkflowInput!) { aiWorkflowsCreateWorkflow(accountId: $a, createWorkflowData: $w) {
        workflow { id name workflowEnabled destinationsEnabled enrichmentsEnabled mutingRulesHandling
          issuesFilter { name type predicates { attribute operator values } }
          destinationConfigurations { channelId name type notificationTriggers } }
        errors { type description } } }";
    let workflow = |name: &str, channel: &str| {
        json!({"a": account, "w": {
        "name": name, "mutingRulesHandling": "NOTIFY_ALL_ISSUES",
        "issuesFilter": {"type": "FILTER", "predicates": [{"attribute": "labels.policyIds", "operator": "EXACTLY_MATCHES", "values": ["1"]}]},
        "destinationConfigurations": [{"channelId": channel, "notificationTriggers": ["ACTIVATED", "CLOSED"]}]}})
    };
    let created = c.ok(create, workflow("wf", &ch1)).await;
    let w = &created["aiWorkflowsCreateWorkflow"]["workflow"];
    assert_eq!(created["aiWorkflowsCreateWorkflow"]["errors"], json!([]));
    assert_eq!(w["workflowEnabled"], true);
    assert_eq!(w["issuesFilter"]["name"], "wf");
    assert_eq!(
        w["destinationConfigurations"],
        json!([{"channelId": ch1, "name": "one", "type": "WEBHOOK", "notificationTriggers": ["ACTIVATED", "CLOSED"]}])
    );
    let wf_id = w["id"].as_str().expect("id").to_owned();

    let dup = c.ok(create, workflow("wf", "no-such-channel")).await;
    assert_eq!(
        dup["aiWorkflowsCreateWorkflow"],
        json!({"workflow": null, "errors": [{"type": "CHANNEL_NOT_FOUND", "description": "channel no-such-channel not found"}]})
    );
    let ch2 = c.ok(CREATE_CHANNEL, channel("two")).await["aiNotificationsCreateChannel"]["channel"]["id"]
        .as_str()
        .expect("ch")
        .to_owned();
    let dup = c.ok(create, workflow("wf", &ch2)).await;
    assert_eq!(dup["aiWorkflowsCreateWorkflow"]["errors"][0]["type"], "DUPLICATE");
    let taken = c.ok(create, workflow("other", &ch1)).await;
    assert_eq!(taken["aiWorkflowsCreateWorkflow"]["errors"][0]["type"], "INVALID_PARAMETER");

    let update = "mutation($a: Int!, $w: AiWorkflowsUpdateWorkflowInput!) { aiWorkflowsUpdateWorkflow(accountId: $a, updateWorkflowData: $w) {
        workflow { name destinationConfigurations { channelId } } errors { type } } }";
    let updated = c.ok(update, json!({"a": account, "w": {"id": wf_id, "name": "wf-2", "destinationConfigurations": [{"channelId": ch2}]}})).await;
    assert_eq!(
        updated["aiWorkflowsUpdateWorkflow"]["workflow"],
        json!({"name": "wf-2", "destinationConfigurations": [{"channelId": ch2}]})
    );
    assert!(server.object(KEY, ObjectKind::Channel, &ch1).is_none(), "the dropped channel is deleted");

    let list = "query($a: Int!, $f: AiWorkflowsFilters) { actor { account(id: $a) { aiWorkflows { workflows(filters: $f) {
        totalCount nextCursor entities { id name } } } } } }";
    let found = c.ok(list, json!({"a": account, "f": {"nameLike": "WF"}})).await;
    assert_eq!(
        found["actor"]["account"]["aiWorkflows"]["workflows"],
        json!({"totalCount": 1, "nextCursor": null, "entities": [{"id": wf_id, "name": "wf-2"}]})
    );

    let delete = "mutation($a: Int!, $id: ID!) { aiWorkflowsDeleteWorkflow(accountId: $a, id: $id) { id errors { type description } } }";
    assert_eq!(
        c.ok(delete, json!({"a": account, "id": wf_id})).await["aiWorkflowsDeleteWorkflow"],
        json!({"id": wf_id, "errors": []})
    );
    assert!(server.object(KEY, ObjectKind::Channel, &ch2).is_none(), "deleteChannels defaults to true");
    let gone = c.ok(delete, json!({"a": account, "id": wf_id})).await;
    assert_eq!(gone["aiWorkflowsDeleteWorkflow"]["errors"][0]["type"], "INVALID_PARAMETER");
}

#[tokio::test]
async fn dashboards_round_trip_and_snapshot() {
    let server = start();
    let c = Client::new(&server, KEY);
    let account = server.account_id(KEY);
    let create = "mutation($a: Int!, $d: DashboardInput!) { dashboardCreate(accountId: $a, dashboard: $d) {
        entityResult { guid name description permissions accountId owner { userId }
          pages { guid name widgets { id title visualization { id } layout { column row width height }
            rawConfiguration configuration { line { nrqlQueries { accountId query } } markdown { text } } } } }
        errors { type description } } }";
    let dashboard = |name: &str, account_for_query: i64| {
        json!({"a": account, "d": {
        "name": name, "permissions": "PUBLIC_READ_ONLY",
        "pages": [{"name": "Overview", "widgets": [
            {"title": "CPU", "configuration": {"line": {"nrqlQueries": [{"accountId": account_for_query, "query": "SELECT average(cpuPercent) FROM SystemSample TIMESERIES"}]}}},
            {"title": "Notes", "visualization": {"id": "viz.markdown"}, "rawConfiguration": {"text": "hello"}, "layout": {"column": 5, "row": 1, "width": 8, "height": 2}}
        ]}]}})
    };
    let created = c.ok(create, dashboard("Hosts", account)).await;
    let d = &created["dashboardCreate"]["entityResult"];
    assert_eq!(created["dashboardCreate"]["errors"], json!([]));
    assert_eq!(d["description"], Value::Null);
    let widgets = &d["pages"][0]["widgets"];
    assert_eq!(widgets[0]["visualization"]["id"], "viz.line");
    assert_eq!(widgets[0]["layout"], json!({"column": 1, "row": 1, "width": 4, "height": 3}));
    assert_eq!(widgets[0]["rawConfiguration"]["nrqlQueries"][0]["accountId"], account);
    assert_eq!(widgets[0]["configuration"]["markdown"], Value::Null);
    assert_eq!(widgets[1]["configuration"], Value::Null);
    let guid = d["guid"].as_str().expect("guid").to_owned();
    let page_guid = d["pages"][0]["guid"].as_str().expect("page guid").to_owned();

    let refused = c.ok(create, dashboard("Elsewhere", 1)).await;
    assert_eq!(refused["dashboardCreate"]["entityResult"], Value::Null);
    assert_eq!(refused["dashboardCreate"]["errors"][0]["type"], "INVALID_INPUT");

    let read = "query($g: EntityGuid!) { actor { entity(guid: $g) { __typename guid name entityType
        ... on DashboardEntity { permissions pages { name widgets { title } } } } } }";
    let data = c.ok(read, json!({"g": guid})).await;
    assert_eq!(
        data["actor"]["entity"],
        json!({"__typename": "DashboardEntity", "guid": guid, "name": "Hosts", "entityType": "DASHBOARD_ENTITY",
               "permissions": "PUBLIC_READ_ONLY", "pages": [{"name": "Overview", "widgets": [{"title": "CPU"}, {"title": "Notes"}]}]})
    );
    let search = c
        .ok("{ actor { entitySearch(queryBuilder: {type: DASHBOARD}) { count results { entities { __typename guid name } nextCursor } } } }", json!({}))
        .await;
    assert_eq!(
        search["actor"]["entitySearch"],
        json!({"count": 1, "results": {"entities": [{"__typename": "DashboardEntityOutline", "guid": guid, "name": "Hosts"}], "nextCursor": null}})
    );

    let update = "mutation($g: EntityGuid!, $d: DashboardInput!) { dashboardUpdate(guid: $g, dashboard: $d) {
        entityResult { guid name pages { guid } } errors { type } } }";
    let mut input = dashboard("Hosts v2", account)["d"].clone();
    input["pages"][0]["guid"] = json!(page_guid);
    let updated = c.ok(update, json!({"g": guid, "d": input})).await;
    assert_eq!(
        updated["dashboardUpdate"]["entityResult"],
        json!({"guid": guid, "name": "Hosts v2", "pages": [{"guid": page_guid}]})
    );

    let snapshot = "mutation($g: EntityGuid!) { dashboardCreateSnapshotUrl(guid: $g, params: {timeWindow: {duration: 3600000}}) }";
    let url = c.ok(snapshot, json!({"g": page_guid})).await["dashboardCreateSnapshotUrl"]
        .as_str()
        .expect("url")
        .to_owned();
    assert!(url.starts_with(&server.base_url()), "{url}");
    // New Relic hands out the PDF form; `format=PNG` gives the image (see `snapshots_serve_pdf_and_png`).
    let png = reqwest::get(url.replace("format=PDF", "format=PNG"))
        .await
        .expect("get")
        .bytes()
        .await
        .expect("bytes");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert_eq!(server.snapshots(KEY)[0]["params"]["timeWindow"]["duration"], 3600000);
    let not_a_page = c.gql(snapshot, json!({"g": guid})).await;
    assert_eq!(not_a_page.error_classes(), ["NOT_FOUND"], "a dashboard guid is not a page guid");

    let delete = "mutation($g: EntityGuid!) { dashboardDelete(guid: $g) { status errors { type } } }";
    assert_eq!(
        c.ok(delete, json!({"g": guid})).await["dashboardDelete"],
        json!({"status": "SUCCESS", "errors": []})
    );
    assert_eq!(
        c.ok(delete, json!({"g": guid})).await["dashboardDelete"],
        json!({"status": "FAILURE", "errors": [{"type": "DASHBOARD_NOT_FOUND"}]})
    );
    assert_eq!(c.ok(read, json!({"g": guid})).await["actor"]["entity"], Value::Null);
}

#[tokio::test]
async fn host_search_pages_through_seeded_hosts() {
    let server = start();
    let c = Client::new(&server, KEY);
    let hosts: Vec<HostSeed> = (0..450)
        .map(|i| {
            HostSeed::new(&format!("host-{i:03}")).with_tag("env", if i % 2 == 0 { "prod" } else { "dev" })
        })
        .collect();
    server.seed_hosts(KEY, &hosts);
    server.seed_hosts(OTHER_KEY, &[HostSeed::new("someone-elses")]);
    let query = "query($cursor: String) { actor { entitySearch(queryBuilder: {domain: INFRA, type: HOST}) {
        count query results(cursor: $cursor) { nextCursor entities { guid name reporting tags { key values }
          ... on InfrastructureHostEntityOutline { domain type } } } } } }";
    let mut names = Vec::new();
    let mut cursor = Value::Null;
    let mut pages = 0;
    loop {
        let data = c.ok(query, json!({"cursor": cursor})).await;
        let search = &data["actor"]["entitySearch"];
        assert_eq!(search["count"], 450);
        assert_eq!(search["query"], "domain = 'INFRA' AND type = 'HOST'");
        let entities = search["results"]["entities"].as_array().expect("entities");
        assert!(entities.len() <= 200);
        assert!(entities.iter().all(|e| e["domain"] == "INFRA" && e["type"] == "HOST"));
        names.extend(entities.iter().map(|e| e["name"].as_str().unwrap_or_default().to_owned()));
        pages += 1;
        cursor = search["results"]["nextCursor"].clone();
        if cursor.is_null() {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(names, (0..450).map(|i| format!("host-{i:03}")).collect::<Vec<_>>());
    let by_query = c
        .ok("{ actor { entitySearch(query: \"domain = 'INFRA' AND type = 'HOST' AND tags.env = 'prod' AND name LIKE 'host-00%'\") { count } } }", json!({}))
        .await;
    assert_eq!(by_query["actor"]["entitySearch"]["count"], 5, "host-000, 002, 004, 006, 008");
    let unsupported = c.gql("{ actor { entitySearch(query: \"name != 'x'\") { count } } }", json!({})).await;
    assert_eq!(unsupported.error_classes(), ["BAD_USER_INPUT"]);
}

#[tokio::test]
async fn drift_hooks_change_what_the_api_returns() {
    let server = start();
    let c = Client::new(&server, KEY);
    let account = server.account_id(KEY);
    let (policy, id) = create_condition(&c, account).await;
    assert!(server.modify(KEY, ObjectKind::NrqlCondition, &id, |c| c["terms"][0]["threshold"] = json!(99.5)));
    let read = "query($a: Int!, $id: ID!) { actor { account(id: $a) { alerts { nrqlCondition(id: $id) { terms { threshold } } } } } }";
    let data = c.ok(read, json!({"a": account, "id": id})).await;
    assert_eq!(data["actor"]["account"]["alerts"]["nrqlCondition"]["terms"][0]["threshold"], 99.5);
    assert!(server.remove(KEY, ObjectKind::NrqlCondition, &id));
    let gone = c.gql(read, json!({"a": account, "id": id})).await;
    assert_eq!(gone.error_classes(), ["NOT_FOUND"]);
    assert!(!server.remove(KEY, ObjectKind::NrqlCondition, &id));
    assert!(!server.modify(OTHER_KEY, ObjectKind::Policy, &policy, |_| {}), "other keys see nothing");
}

#[tokio::test]
async fn injected_faults() {
    let server = start();
    let c = Client::new(&server, KEY);
    let account = server.account_id(KEY);
    let policy_vars =
        json!({"accountId": account, "policy": {"name": "p", "incidentPreference": "PER_POLICY"}});
    server.set_faults(vec!["error:TIMEOUT alertsPolicyCreate times=1".parse().expect("spec")]);
    let a = c.gql(CREATE_POLICY, policy_vars.clone()).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.error_classes(), ["TIMEOUT"]);
    assert_eq!(a.body["data"], Value::Null);
    assert!(server.objects(KEY, ObjectKind::Policy).is_empty(), "not acted on");
    c.ok(CREATE_POLICY, policy_vars.clone()).await;

    server.set_faults(vec![NerdGraphFaultRule::new(NerdGraphFault::ActedError("SERVER_ERROR".into()))
        .on("mutation")
        .with_times(1)]);
    let a = c.gql(CREATE_POLICY, policy_vars.clone()).await;
    assert_eq!(a.error_classes(), ["SERVER_ERROR"]);
    assert_eq!(server.objects(KEY, ObjectKind::Policy).len(), 2, "acted on despite the error");

    server.set_faults(vec![
        "429 query times=1".parse().expect("spec"),
        "503 query times=1".parse().expect("spec"),
        NerdGraphFaultRule::new(NerdGraphFault::Http(FaultKind::Slow(Duration::from_millis(300))))
            .on("actor")
            .with_times(1),
    ]);
    let q = "{ actor { accounts { id } } }";
    let a = c.gql(q, json!({})).await;
    assert_eq!((a.status, a.error_classes()), (429, vec!["TOO_MANY_REQUESTS".to_owned()]));
    assert_eq!(a.headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    assert_eq!(c.gql(q, json!({})).await.status, 503);
    let t = Instant::now();
    c.ok(q, json!({})).await;
    assert!(t.elapsed() >= Duration::from_millis(300));
    c.ok(q, json!({})).await;
    assert_eq!(server.injected_count(), 5);
    assert_eq!(server.throttled_count(), 1);

    server.set_faults(vec!["acted-but-lost alertsPolicyCreate times=1".parse().expect("spec")]);
    let lost = reqwest::Client::new()
        .post(server.graphql_url())
        .header("API-Key", KEY)
        .json(&json!({"query": CREATE_POLICY, "variables": policy_vars}))
        .send()
        .await;
    assert!(lost.is_err(), "no HTTP answer at all");
    assert_eq!(server.objects(KEY, ObjectKind::Policy).len(), 3, "but the policy was created");
}

#[tokio::test]
async fn twenty_sixth_request_in_flight_gets_429() {
    let server = NewRelicStandIn::start(NewRelicOptions {
        latency: Duration::from_millis(1500),
        ..Default::default()
    })
    .expect("starts");
    let c = std::sync::Arc::new(Client::new(&server, KEY));
    let other = std::sync::Arc::new(Client::new(&server, OTHER_KEY));
    let mut tasks = Vec::new();
    for _ in 0..26 {
        let c = std::sync::Arc::clone(&c);
        tasks.push(tokio::spawn(
            async move { c.gql("{ actor { accounts { id } } }", json!({})).await.status },
        ));
    }
    let other_key =
        tokio::spawn(async move { other.gql("{ actor { accounts { id } } }", json!({})).await.status });
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("task"));
    }
    statuses.sort_unstable();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 25, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 1, "{statuses:?}");
    assert_eq!(other_key.await.expect("task"), 200, "the limit is per key");
    assert_eq!(server.throttled_count(), 1);
    assert_eq!(c.gql("{ actor { accounts { id } } }", json!({})).await.status, 200, "slots are freed");
}

#[tokio::test]
async fn page_sizes_are_configurable() {
    let server =
        NewRelicStandIn::start(NewRelicOptions { page_sizes: PageSizes::all(2), ..Default::default() })
            .expect("starts");
    let c = Client::new(&server, KEY);
    let account = server.account_id(KEY);
    for i in 0..5 {
        create_policy(&c, account, &format!("p{i}")).await;
    }
    let q = "query($a: Int!, $c: String) { actor { account(id: $a) { alerts { policiesSearch(cursor: $c) { nextCursor policies { name } } } } } }";
    let mut cursor = Value::Null;
    let mut pages = 0;
    loop {
        let data = c.ok(q, json!({"a": account, "c": cursor})).await;
        cursor = data["actor"]["account"]["alerts"]["policiesSearch"]["nextCursor"].clone();
        pages += 1;
        if cursor.is_null() {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(server.requests_for("alertsPolicyCreate"), 5);
    assert_eq!(server.requests_for("actor"), 3);
}

/// A selection of every argument-free field of `ty`, `depth` levels down (members of unions
/// aliased apart so the document stays valid).
fn full_selection(ty: &str, depth: usize) -> String {
    use apollo_compiler::schema::ExtendedType;
    let schema = &super::schema::nerdgraph().expect("schema").schema;
    let fields_of = |fields: &mut dyn Iterator<
        Item = (
            &apollo_compiler::Name,
            &apollo_compiler::schema::Component<apollo_compiler::schema::FieldDefinition>,
        ),
    >,
                     prefix: &str| {
        let mut out = Vec::new();
        for (name, def) in fields {
            if !def.arguments.is_empty() {
                continue;
            }
            let alias = if prefix.is_empty() { String::new() } else { format!("{prefix}_{name}: ") };
            match schema.types.get(def.ty.inner_named_type()) {
                Some(ExtendedType::Scalar(_) | ExtendedType::Enum(_)) => out.push(format!("{alias}{name}")),
                Some(_) if depth > 0 => out.push(format!(
                    "{alias}{name} {{ {} }}",
                    full_selection(def.ty.inner_named_type(), depth - 1)
                )),
                _ => {}
            }
        }
        out.join(" ")
    };
    match schema.types.get(ty) {
        Some(ExtendedType::Object(o)) => fields_of(&mut o.fields.iter(), ""),
        Some(ExtendedType::Interface(i)) => format!("__typename {}", fields_of(&mut i.fields.iter(), "")),
        Some(ExtendedType::Union(u)) => {
            let mut out = vec!["__typename".to_owned()];
            for member in &u.members {
                if let Some(ExtendedType::Object(o)) = schema.types.get(member.as_str()) {
                    out.push(format!(
                        "... on {member} {{ {} }}",
                        fields_of(&mut o.fields.iter(), member.as_str())
                    ));
                }
            }
            out.join(" ")
        }
        _ => String::new(),
    }
}

/// Paths of the "not implemented" errors of an answer.
fn unimplemented_paths(a: &Answer) -> Vec<String> {
    a.errors()
        .iter()
        .filter(|e| e["extensions"]["errorClass"] == "STAND_IN_NOT_IMPLEMENTED")
        .map(|e| {
            e["path"]
                .as_array()
                .map(|p| {
                    p.iter().map(|s| s.to_string().trim_matches('"').to_owned()).collect::<Vec<_>>().join(".")
                })
                .unwrap_or_default()
        })
        .collect()
}

#[tokio::test]
async fn every_field_of_the_managed_objects_is_served() {
    let server = start();
    let c = Client::new(&server, KEY);
    let account = server.account_id(KEY);
    let policy = create_policy(&c, account, "p").await;

    let doc = format!(
        "mutation($a: Int!, $p: ID!, $c: AlertsNrqlConditionStaticInput!) {{
            alertsNrqlConditionStaticCreate(accountId: $a, policyId: $p, condition: $c) {{ {} }} }}",
        full_selection("AlertsNrqlStaticCondition", 3)
    );
    let a = c.gql(&doc, json!({"a": account, "p": policy, "c": minimal_condition("all")})).await;
    assert_eq!(unimplemented_paths(&a), ["alertsNrqlConditionStaticCreate.entity"], "{:#}", a.body);
    assert_eq!(a.errors().len(), 1, "{:#}", a.body);

    let doc = format!(
        "mutation($a: Int!, $d: AiNotificationsDestinationInput!) {{ aiNotificationsCreateDestination(accountId: $a, destination: $d) {{ {} }} }}",
        full_selection("AiNotificationsDestinationResponse", 3)
    );
    let a = c
        .gql(&doc, json!({"a": account, "d": {"name": "hook", "type": "WEBHOOK", "properties": [{"key": "url", "value": "https://x.example.com"}],
            "auth": {"type": "BASIC", "basic": {"user": "u", "password": "pw-s3cret"}}}}))
        .await;
    let destination = a.data()["aiNotificationsCreateDestination"]["destination"].clone();
    assert_eq!(destination["auth"]["AiNotificationsBasicAuth_user"], "u");
    let dest_id = destination["id"].as_str().expect("id").to_owned();

    let doc = format!(
        "mutation($a: Int!, $c: AiNotificationsChannelInput!) {{ aiNotificationsCreateChannel(accountId: $a, channel: $c) {{ {} }} }}",
        full_selection("AiNotificationsChannelResponse", 3)
    );
    let a = c
        .gql(&doc, json!({"a": account, "c": {"name": "ch", "type": "WEBHOOK", "product": "IINT", "destinationId": dest_id, "properties": []}}))
        .await;
    let channel_id =
        a.data()["aiNotificationsCreateChannel"]["channel"]["id"].as_str().expect("id").to_owned();

    let doc = format!(
        "mutation($a: Int!, $w: AiWorkflowsCreateWorkflowInput!) {{ aiWorkflowsCreateWorkflow(accountId: $a, createWorkflowData: $w) {{ {} }} }}",
        full_selection("AiWorkflowsCreateWorkflowResponse", 4)
    );
    let a = c
        .gql(&doc, json!({"a": account, "w": {"name": "wf", "mutingRulesHandling": "DONT_NOTIFY_FULLY_MUTED_ISSUES",
            "enrichments": {"nrql": [{"name": "logs", "configuration": [{"query": "SELECT count(*) FROM Log"}]}]},
            "destinationConfigurations": [{"channelId": channel_id}]}}))
        .await;
    assert_eq!(
        a.data()["aiWorkflowsCreateWorkflow"]["workflow"]["enrichments"][0]["configurations"][0]
            ["__typename"],
        "AiWorkflowsNrqlConfiguration"
    );

    let doc = format!(
        "mutation($a: Int!, $d: DashboardInput!) {{ dashboardCreate(accountId: $a, dashboard: $d) {{ {} }} }}",
        full_selection("DashboardCreateResult", 6)
    );
    let a = c
        .gql(&doc, json!({"a": account, "d": {"name": "d", "permissions": "PRIVATE", "pages": [{"name": "p", "widgets": [
            {"title": "b", "configuration": {"billboard": {"nrqlQueries": [{"accountId": account, "query": "SELECT 1"}], "thresholds": [{"alertSeverity": "WARNING", "value": 1}]}}}
        ]}]}}))
        .await;
    let widget = &a.data()["dashboardCreate"]["entityResult"]["pages"][0]["widgets"][0];
    assert_eq!(
        widget["configuration"]["billboard"]["thresholds"],
        json!([{"alertSeverity": "WARNING", "value": 1.0}])
    );
    assert_eq!(widget["linkedEntities"], json!([]));

    let policies = format!(
        "query($a: Int!) {{ actor {{ account(id: $a) {{ alerts {{ policiesSearch {{ policies {{ {} }} }} }} }} }} }}",
        full_selection("AlertsPolicy", 1)
    );
    c.ok(&policies, json!({"a": account})).await;
    assert!(server.invalid_documents().is_empty(), "{:#?}", server.invalid_documents());
}

const INCIDENTS: &str = "query($a: Int!, $cursor: String, $filter: AiIssuesFilterIncidents, $w: TimeWindowInput) {
  actor { account(id: $a) { aiIssues { incidents(cursor: $cursor, filter: $filter, timeWindow: $w) {
    nextCursor
    incidents { __typename incidentId ... on AiIssuesNewRelicIncident { conditionFamilyId state priority createdAt closedAt } }
  } } } }
}";

/// Every incident id a query returns, following `nextCursor`; and the number of pages.
async fn incident_ids(c: &Client, account: i64, filter: Value, window: Value) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut cursor = Value::Null;
    let mut pages = 0;
    loop {
        let data =
            c.ok(INCIDENTS, json!({"a": account, "cursor": cursor, "filter": filter, "w": window})).await;
        let result = &data["actor"]["account"]["aiIssues"]["incidents"];
        ids.extend(
            result["incidents"]
                .as_array()
                .expect("a list")
                .iter()
                .map(|i| i["incidentId"].as_str().expect("an id").to_owned()),
        );
        pages += 1;
        cursor = result["nextCursor"].clone();
        if cursor.is_null() {
            return (ids, pages);
        }
    }
}

#[tokio::test]
async fn incidents_page_and_keep_to_the_time_window() {
    let server = NewRelicStandIn::start(NewRelicOptions {
        page_sizes: PageSizes { incidents: 2, ..PageSizes::default() },
        ..Default::default()
    })
    .expect("starts");
    assert_eq!(PageSizes::all(7).incidents, 7);
    assert_eq!(PageSizes::default().incidents, 100);
    let c = Client::new(&server, KEY);
    let account = server.account_id(KEY);
    const H: i64 = 3_600_000;
    // Thirty days ago, whole hours: every incident below is in the past.
    let base = (chrono::Utc::now().timestamp_millis() / H - 30 * 24) * H;
    // Window: [base, base + 10h].
    let closed_before = server.open_incident(KEY, "7", "CRITICAL", "closed before", base - 5 * H);
    assert!(server.close_incident(KEY, &closed_before, base - H));
    let open_from_before = server.open_incident(KEY, "7", "HIGH", "open from before", base - 2 * H);
    let closed_inside = server.open_incident(KEY, "7", "critical", "closed inside", base - 3 * H);
    assert!(server.close_incident(KEY, &closed_inside, base + H));
    let opened_inside = server.open_incident(KEY, "8", "LOW", "opened inside", base + 2 * H);
    let inside_closed = server.open_incident(KEY, "8", "MEDIUM", "in and out", base + 3 * H);
    assert!(server.close_incident(KEY, &inside_closed, base + 4 * H));
    assert!(!server.close_incident(KEY, &inside_closed, base + 5 * H), "closed already");
    assert!(!server.close_incident(KEY, "no-such-incident", base));
    let after = server.open_incident(KEY, "8", "CRITICAL", "after", base + 11 * H);
    assert_eq!(server.objects(KEY, ObjectKind::Incident).len(), 6);
    assert_eq!(
        server.object(KEY, ObjectKind::Incident, &closed_inside).expect("stored")["priority"],
        "CRITICAL"
    );

    let window = json!({"startTime": base, "endTime": base + 10 * H});
    let (ids, pages) = incident_ids(&c, account, Value::Null, window.clone()).await;
    // Newest first, every incident active during the window once.
    assert_eq!(
        ids,
        [inside_closed.as_str(), opened_inside.as_str(), open_from_before.as_str(), closed_inside.as_str()]
    );
    assert_eq!(pages, 2);

    let (closed, _) = incident_ids(&c, account, json!({"states": ["CLOSED"]}), window.clone()).await;
    assert_eq!(closed, [inside_closed.as_str(), closed_inside.as_str()]);
    let (urgent, _) =
        incident_ids(&c, account, json!({"priority": ["critical", "HIGH"]}), window.clone()).await;
    assert_eq!(urgent, [open_from_before.as_str(), closed_inside.as_str()]);
    let (one, _) = incident_ids(&c, account, json!({"ids": [&opened_inside]}), window.clone()).await;
    assert_eq!(one, [opened_inside.as_str()]);

    // Without a window, the last 24 hours: the incidents still open, and one opened an hour ago.
    let recent =
        server.open_incident(KEY, "9", "CRITICAL", "recent", chrono::Utc::now().timestamp_millis() - H);
    let (default_window, _) = incident_ids(&c, account, Value::Null, Value::Null).await;
    assert_eq!(
        default_window,
        [recent.as_str(), after.as_str(), opened_inside.as_str(), open_from_before.as_str()]
    );
    let (all, pages) = incident_ids(
        &c,
        account,
        Value::Null,
        json!({"startTime": 0, "endTime": chrono::Utc::now().timestamp_millis()}),
    )
    .await;
    assert_eq!(all.len(), 7);
    assert!(all.contains(&closed_before) && all.contains(&closed_inside));
    assert_eq!(pages, 4);

    let backwards =
        c.gql(INCIDENTS, json!({"a": account, "w": {"startTime": base + H, "endTime": base}})).await;
    assert_eq!(backwards.error_classes(), ["BAD_USER_INPUT"]);
    let bad_cursor = c.gql(INCIDENTS, json!({"a": account, "cursor": "bogus", "w": window})).await;
    assert_eq!(bad_cursor.error_classes(), ["BAD_USER_INPUT"]);
    // Incidents are per key.
    let other = Client::new(&server, OTHER_KEY);
    let (none, _) = incident_ids(&other, server.account_id(OTHER_KEY), Value::Null, window).await;
    assert!(none.is_empty());
    assert!(server.invalid_documents().is_empty(), "{:#?}", server.invalid_documents());
}

#[tokio::test]
async fn incidents_resolve_as_an_interface() {
    let server = start();
    let c = Client::new(&server, KEY);
    let account = server.account_id(KEY);
    let (policy, condition) = create_condition(&c, account).await;
    let now = chrono::Utc::now().timestamp_millis();
    let incident = server.open_incident(KEY, &condition, "CRITICAL", "CPU high", now - 60_000);
    assert!(server.close_incident(KEY, &incident, now - 30_000));

    let query = "query($a: Int!, $w: TimeWindowInput!) { actor { account(id: $a) { aiIssues {
        incidents(timeWindow: $w) { nextCursor incidents {
            __typename incidentId title
            ... on AiIssuesNewRelicIncident { conditionFamilyId policyIds state priority createdAt closedAt updatedAt }
            ... on AiIssuesAnomalyIncident { anomalyId }
        } } } } } }";
    let data = c.ok(query, json!({"a": account, "w": {"startTime": now - 120_000, "endTime": now}})).await;
    assert_eq!(
        data["actor"]["account"]["aiIssues"]["incidents"],
        json!({"nextCursor": null, "incidents": [{
            "__typename": "AiIssuesNewRelicIncident",
            "incidentId": incident,
            "title": "CPU high",
            "conditionFamilyId": condition,
            "policyIds": policy,
            "state": "CLOSED",
            "priority": "CRITICAL",
            "createdAt": now - 60_000,
            "closedAt": now - 30_000,
            "updatedAt": now - 30_000,
        }]})
    );

    // Every field of the type is served.
    let full = format!(
        "query($a: Int!) {{ actor {{ account(id: $a) {{ aiIssues {{ incidents(timeWindow: {{startTime: 0, endTime: {now}}}) {{
            incidents {{ ... on AiIssuesNewRelicIncident {{ {} }} }} }} }} }} }} }}",
        full_selection("AiIssuesNewRelicIncident", 1)
    );
    let a = c.gql(&full, json!({"a": account})).await;
    assert!(unimplemented_paths(&a).is_empty(), "{:#}", a.body);
    let got = &a.data()["actor"]["account"]["aiIssues"]["incidents"]["incidents"][0];
    assert_eq!(got["accountIds"], account.to_string());
    assert_eq!(got["description"], json!(["Policy: p", "Condition: cpu"]));

    // Fields of the implementation are not fields of the interface; unknown fields are refused.
    for bad in [
        "incidents { incidents { conditionFamilyId } }",
        "incidents { incidents { ... on AiIssuesNewRelicIncident { conditionId } } }",
    ] {
        let doc = format!("query($a: Int!) {{ actor {{ account(id: $a) {{ aiIssues {{ {bad} }} }} }} }}");
        let a = c.gql(&doc, json!({"a": account})).await;
        assert!(a.error_classes().iter().all(|c| c == "GRAPHQL_VALIDATION_FAILED"), "{:#}", a.body);
        assert!(
            a.errors()
                .iter()
                .any(|e| e["message"].as_str().unwrap_or_default().starts_with("Cannot query field")),
            "{:#}",
            a.body
        );
        assert_eq!(a.body["data"], Value::Null);
    }
    let bad_window =
        c.gql(query, json!({"a": account, "w": {"startTime": "yesterday", "endTime": now}})).await;
    assert_eq!(bad_window.error_classes(), ["BAD_USER_INPUT"]);
    let bad_state = c.gql(INCIDENTS, json!({"a": account, "filter": {"states": ["OPEN"]}})).await;
    assert_eq!(bad_state.error_classes(), ["BAD_USER_INPUT"], "OPEN is not an AiIssuesIncidentState");
    let other_ns = c
        .gql(
            "query($a: Int!) { actor { account(id: $a) { aiIssues { issues { nextCursor } } } } }",
            json!({"a": account}),
        )
        .await;
    assert_eq!(other_ns.error_classes(), ["STAND_IN_NOT_IMPLEMENTED"]);
    assert_eq!(server.invalid_documents().len(), 4, "the two bad fields and the two bad variables");
}

const TEST_DESTINATION: &str = "mutation($a: Int!, $id: ID!, $u: AiNotificationsDestinationUpdate) {
  aiNotificationsTestDestinationById(accountId: $a, destinationId: $id, update: $u) {
    result details
    error { __typename ... on AiNotificationsResponseError { type description details } }
    errors { __typename ... on AiNotificationsResponseError { type } }
  }
}";

/// A receiver on 127.0.0.1:0 recording `(path and query, headers, body)` of every POST.
async fn recording_receiver(
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<(String, Vec<(String, String)>, String)>>>) {
    use axum::extract::Request;
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = std::sync::Arc::clone(&got);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = axum::Router::new().fallback(move |req: Request| {
        let seen = std::sync::Arc::clone(&seen);
        async move {
            let uri = req.uri().to_string();
            let headers: Vec<(String, String)> = req
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
                .collect();
            let body = axum::body::to_bytes(req.into_body(), 1 << 20).await.unwrap_or_default();
            seen.lock().expect("lock").push((uri, headers, String::from_utf8_lossy(&body).into_owned()));
            "ok"
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destination_tests_post_to_the_secure_url_with_the_destination_auth() {
    let server = start();
    let c = Client::new(&server, KEY);
    let account = server.account_id(KEY);
    let (base, got) = recording_receiver().await;
    let created = c
        .ok(
            CREATE_DESTINATION,
            json!({"a": account, "d": {"name": "hook", "type": "WEBHOOK", "properties": [],
                   "secureUrl": {"prefix": format!("{base}/in/"), "secureSuffix": "path-s3cret"},
                   "auth": {"type": "CUSTOM_HEADERS", "customHeaders": {"customHeaders": [{"key": "X-Api-Key", "value": "header-s3cret"}]}}}}),
        )
        .await;
    let id =
        created["aiNotificationsCreateDestination"]["destination"]["id"].as_str().expect("id").to_owned();
    let a = c.gql(TEST_DESTINATION, json!({"a": account, "id": id})).await;
    let r = &a.data()["aiNotificationsTestDestinationById"];
    assert_eq!(r["result"], "SUCCESS", "{r:#}");
    assert!(!a.text.contains("s3cret"), "{}", a.text);
    {
        let seen = got.lock().expect("lock");
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert_eq!(seen[0].0, "/in/path-s3cret");
        assert!(seen[0].1.iter().any(|(k, v)| k == "x-api-key" && v == "header-s3cret"), "{:?}", seen[0].1);
    }

    // Another account, an unknown id: failures inside data, nothing sent.
    let foreign = c.ok(TEST_DESTINATION, json!({"a": account + 1, "id": id})).await;
    assert_eq!(foreign["aiNotificationsTestDestinationById"]["error"]["type"], "UNAUTHORIZED_ACCOUNT");
    assert_eq!(foreign["aiNotificationsTestDestinationById"]["result"], "FAIL");
    let unknown = c.ok(TEST_DESTINATION, json!({"a": account, "id": "nope"})).await;
    assert_eq!(unknown["aiNotificationsTestDestinationById"]["error"]["type"], "INVALID_PARAMETER");
    // An override the stand-in does not apply is said, never ignored.
    let u = c.gql(TEST_DESTINATION, json!({"a": account, "id": id, "u": {"name": "renamed"}})).await;
    assert_eq!(u.error_classes(), ["STAND_IN_NOT_IMPLEMENTED"]);
    // The schema is enforced: `channelId` is required.
    let bad = c
        .gql(
            "mutation($a: Int!) { aiNotificationsTestChannelById(accountId: $a) { result } }",
            json!({"a": account}),
        )
        .await;
    assert!(!bad.errors().is_empty() && bad.body["data"].is_null(), "{:#}", bad.body);
    assert_eq!(got.lock().expect("lock").len(), 1, "only the first test sent anything");
}

/// As in `watchkeep-sandbox`: the stand-in and the webhook receiver are served by one process on
/// one runtime (here with a single worker), so the stand-in's POST must not hold the only worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_destination_test_reaches_a_receiver_served_by_the_same_runtime() {
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = std::sync::Arc::clone(&hits);
    let app = NewRelicStandIn::sandbox_router(NewRelicOptions::default(), 0).expect("router").route(
        "/hook",
        axum::routing::post(move || {
            let counted = std::sync::Arc::clone(&counted);
            async move {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let c = Client {
        http: reqwest::Client::new(),
        url: format!("http://{addr}/graphql"),
        key: Some(KEY.to_owned()),
    };
    let accounts = c.ok("{ actor { accounts { id } } }", json!({})).await;
    let account = accounts["actor"]["accounts"][0]["id"].as_i64().expect("account");
    let created = c
        .ok(
            CREATE_DESTINATION,
            json!({"a": account, "d": {"name": "same-process hook", "type": "WEBHOOK",
                   "properties": [{"key": "url", "value": format!("http://{addr}/hook")}]}}),
        )
        .await;
    let id =
        created["aiNotificationsCreateDestination"]["destination"]["id"].as_str().expect("id").to_owned();
    let started = Instant::now();
    let r = c.ok(TEST_DESTINATION, json!({"a": account, "id": id})).await;
    assert_eq!(r["aiNotificationsTestDestinationById"]["result"], "SUCCESS", "{r:#}");
    assert!(started.elapsed() < Duration::from_secs(5), "answered by the receiver, not by the 10 s timeout");
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
}

/// A line dashboard, its page guid, and the key's account.
async fn line_dashboard(server: &NewRelicStandIn, c: &Client) -> (String, String) {
    let create = "mutation($a: Int!, $d: DashboardInput!) { dashboardCreate(accountId: $a, dashboard: $d) {
        entityResult { guid pages { guid } } errors { type description } } }";
    let d = json!({"a": server.account_id(KEY), "d": {"name": "Web hosts", "permissions": "PUBLIC_READ_ONLY",
    "pages": [{"name": "Overview", "widgets": [
        {"title": "web-1: CPU", "visualization": {"id": "viz.line"}, "layout": {"column": 1, "row": 1, "width": 6, "height": 3},
         "rawConfiguration": {"nrqlQueries": [{"accountIds": [server.account_id(KEY)], "query": "SELECT average(cpuPercent) FROM SystemSample WHERE hostname = 'web-1' TIMESERIES"}]}},
        {"title": "Notes", "visualization": {"id": "viz.markdown"}, "rawConfiguration": {"text": "# Scope"}, "layout": {"column": 7, "row": 1, "width": 6, "height": 3}}
    ]}]}});
    let created = c.ok(create, d).await;
    let e = &created["dashboardCreate"]["entityResult"];
    (e["guid"].as_str().unwrap().to_owned(), e["pages"][0]["guid"].as_str().unwrap().to_owned())
}

async fn post_events(server: &NewRelicStandIn, key: &str, account: i64, body: Value) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(server.events_url(account))
        .header("Api-Key", key)
        .body(body.to_string())
        .send()
        .await
        .expect("posted");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn snapshots_validate_their_window_and_serve_pdf_and_png() {
    let server = start();
    let c = Client::new(&server, KEY);
    let (guid, page) = line_dashboard(&server, &c).await;
    let snapshot = "mutation($g: EntityGuid!, $p: DashboardSnapshotUrlInput) { dashboardCreateSnapshotUrl(guid: $g, params: $p) }";
    let end = chrono::Utc::now().timestamp_millis();
    let begin = end - 600_000;
    for bad in [
        json!({"timeWindow": {"beginTime": begin}}),
        json!({"timeWindow": {"endTime": end}}),
        json!({"timeWindow": {"beginTime": end, "endTime": begin}}),
        json!({"timeWindow": {"duration": 0}}),
    ] {
        let answer = c.gql(snapshot, json!({"g": page, "p": bad})).await;
        assert_eq!(answer.error_classes(), ["BAD_USER_INPUT"], "{bad}: {}", answer.text);
    }
    let not_a_page = c.gql(snapshot, json!({"g": guid})).await;
    assert_eq!(not_a_page.error_classes(), ["NOT_FOUND"]);
    let wrong_type =
        c.gql(snapshot, json!({"g": page, "p": {"timeWindow": {"beginTime": "yesterday"}}})).await;
    assert_eq!(
        wrong_type.error_classes(),
        ["BAD_USER_INPUT"],
        "EpochMilliseconds is checked: {}",
        wrong_type.text
    );

    let account = server.account_id(KEY);
    let events: Vec<Value> = (1..=5)
        .map(|i| json!({"eventType": "SystemSample", "hostname": "web-1", "cpuPercent": i * 15, "timestamp": begin + i * 60_000}))
        .collect();
    assert_eq!(post_events(&server, KEY, account, Value::Array(events)).await.0, 202);
    let url = c
        .ok(snapshot, json!({"g": page, "p": {"timeWindow": {"beginTime": begin, "endTime": end}}}))
        .await["dashboardCreateSnapshotUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(url.contains("format=PDF") && url.contains("width=2000"), "{url}");
    let http = reqwest::Client::new();
    let pdf = http.get(&url).send().await.unwrap();
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF-"));
    let png_url = url
        .replace("format=PDF", "format=PNG")
        .replace("width=2000", "width=800")
        .replace("height=2000", "height=600");
    let png = http.get(&png_url).send().await.unwrap();
    assert_eq!(png.headers()["content-type"], "image/png");
    let bytes = png.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n") && &bytes[12..16] == b"IHDR", "a PNG");
    let side = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    assert_eq!((side(16), side(20)), (800, 600));
    let blank = crate::newrelic::render::dashboard_png(800, 600, "Web hosts", "Overview", "", &[]);
    assert_ne!(bytes.as_ref(), blank.as_slice(), "the widgets and the data are drawn");
    let too_big = http.get(url.replace("width=2000", "width=2001")).send().await.unwrap();
    assert_eq!(too_big.status().as_u16(), 400);
    let odd = http.get(url.replace("format=PDF", "format=GIF")).send().await.unwrap();
    assert_eq!(odd.status().as_u16(), 400);
    let unknown = http
        .get(format!("{}/_sandbox/newrelic/snapshot/nope?format=PNG", server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 404);
    let fetches = server.snapshot_fetches();
    assert_eq!(fetches.len(), 5);
    assert!(fetches.iter().all(|f| !f.api_key_sent));
}

#[tokio::test]
async fn nrql_answers_from_posted_events() {
    let server = start();
    let c = Client::new(&server, KEY);
    let account = server.account_id(KEY);
    let t = 1_793_491_200_000i64; // 2026-11-01T00:00:00Z
    let events = json!([
        {"eventType": "SystemSample", "hostname": "web-1", "cpuPercent": 10, "timestamp": t},
        {"eventType": "SystemSample", "hostname": "web-1", "cpuPercent": 30, "timestamp": t + 30_000},
        {"eventType": "SystemSample", "hostname": "web-2", "cpuPercent": 99, "timestamp": t}
    ]);
    assert_eq!(post_events(&server, KEY, account, events).await.0, 202);
    let q = "query($a: Int!, $q: Nrql!) { actor { account(id: $a) { nrql(query: $q) { results } } } }";
    let nrql = format!(
        "SELECT average(cpuPercent) FROM SystemSample WHERE hostname = 'web-1' SINCE {t} UNTIL {}",
        t + 60_000
    );
    let data = c.ok(q, json!({"a": account, "q": nrql})).await;
    assert_eq!(data["actor"]["account"]["nrql"]["results"], json!([{"average.cpuPercent": 20.0}]));
    let series = format!(
        "SELECT max(cpuPercent) FROM SystemSample FACET hostname SINCE {t} UNTIL {} TIMESERIES 1 minute",
        t + 120_000
    );
    let data = c.ok(q, json!({"a": account, "q": series})).await;
    let results = data["actor"]["account"]["nrql"]["results"].as_array().unwrap().clone();
    assert_eq!(results.len(), 4, "two facets, two buckets: {results:#?}");
    assert_eq!(
        results[0],
        json!({"beginTimeSeconds": t / 1000, "endTimeSeconds": t / 1000 + 60, "max.cpuPercent": 30.0, "facet": "web-1"})
    );
    let bad = c.gql(q, json!({"a": account, "q": "SELEKT nothing"})).await;
    assert_eq!(bad.error_classes(), ["INVALID_INPUT"]);
    let unsupported = c.gql(q, json!({"a": account, "q": "SELECT percentile(x, 95) FROM X"})).await;
    assert_eq!(unsupported.error_classes(), [crate::newrelic::exec::NOT_IMPLEMENTED]);
    let other = c.gql(q, json!({"a": 1, "q": "SELECT count(*) FROM X"})).await;
    assert_eq!(other.error_classes(), ["FORBIDDEN"]);
    assert!(server.invalid_documents().is_empty());
}

#[tokio::test]
async fn the_event_api_checks_keys_accounts_and_bodies() {
    let server = start();
    let account = server.account_id(KEY);
    let ok = json!([{"eventType": "SystemSample", "hostname": "web-1", "cpuPercent": 1}]);
    assert_eq!(post_events(&server, "not-a-key", account, ok.clone()).await.0, 403);
    assert_eq!(post_events(&server, KEY, 1, ok.clone()).await.0, 403, "another key's account");
    let (status, body) = post_events(&server, KEY, account, json!([{"hostname": "x"}])).await;
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("event 1: each event needs a string `eventType`"),
        "{body}"
    );
    assert_eq!(post_events(&server, KEY, account, json!([{"eventType": "A", "tags": ["x"]}])).await.0, 400);
    let (status, body) = post_events(&server, KEY, account, ok).await;
    assert_eq!(status, 202);
    assert_eq!(body["success"], true);
    let stored = server.events(KEY);
    assert_eq!(stored.len(), 1);
    assert!(stored[0]["timestamp"].as_i64().unwrap() > 1_700_000_000_000, "timestamp defaults to now, in ms");
    assert!(server.events(OTHER_KEY).is_empty());
}

#[tokio::test]
async fn the_incident_control_call_checks_what_it_is_given() {
    let server = start();
    let http = reqwest::Client::new();
    let url = format!("{}/_sandbox/newrelic/incidents", server.base_url());
    let call = |key: &str, body: Value| http.post(&url).header("API-Key", key).body(body.to_string()).send();
    assert_eq!(call("nope", json!({})).await.unwrap().status().as_u16(), 401);
    assert_eq!(call(KEY, json!([])).await.unwrap().status().as_u16(), 400);
    assert_eq!(call(KEY, json!({"action": "open"})).await.unwrap().status().as_u16(), 400);
    assert_eq!(
        call(KEY, json!({"conditionId": "1", "action": "fire"})).await.unwrap().status().as_u16(),
        400
    );
    assert_eq!(
        call(KEY, json!({"conditionId": "1", "action": "open", "priority": "URGENT"}))
            .await
            .unwrap()
            .status()
            .as_u16(),
        400
    );
    assert_eq!(
        call(KEY, json!({"conditionId": "1", "action": "open"})).await.unwrap().status().as_u16(),
        404
    );
    assert_eq!(
        call(KEY, json!({"conditionId": "1", "action": "open", "accountId": 1}))
            .await
            .unwrap()
            .status()
            .as_u16(),
        403
    );
    assert!(server.objects(KEY, ObjectKind::Incident).is_empty());
}
