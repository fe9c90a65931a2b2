use serde_json::json;
use watchkeep_provider::{address_marker, owner_id, owner_marker, LiveObject, UpdateKind};

use super::*;
use crate::state::{ResourceState, State};

fn desired(addr: &str, attrs: Value) -> PlanDesired {
    PlanDesired {
        address: addr.into(),
        resource_type: "datadog_monitor".into(),
        provider: "datadog".into(),
        origin: Some("baseline.soc2".into()),
        normalized: attrs,
        depends_on: vec![],
        links: vec![],
    }
}

fn live(id: &str, addr: Option<&str>, attrs: Value) -> LiveObject {
    LiveObject {
        id: id.into(),
        resource_type: "datadog_monitor".into(),
        attrs,
        modified: None,
        marker: addr.map(address_marker),
        owned: addr.is_some(),
    }
}

/// A live object marked for `addr` by the state whose lineage is `lineage`.
fn marked_by(lineage: &str, id: &str, addr: &str, attrs: Value) -> LiveObject {
    LiveObject { marker: Some(owner_marker(&owner_id(lineage), addr)), ..live(id, Some(addr), attrs) }
}

fn in_state(state: &mut State, addr: &str, id: &str, attrs: Value) {
    state.upsert(ResourceState {
        address: addr.into(),
        resource_type: "datadog_monitor".into(),
        provider: "datadog".into(),
        id: id.into(),
        origin: None,
        // As if the configuration had set every attribute when it was written.
        configured: super::leaves(&attrs).into_iter().map(|(k, v)| (k, super::value_hash(&v))).collect(),
        attrs,
        vendor_modified: None,
        changed_at: "2026-11-24T00:00:00Z".into(),
        sensitive_paths: vec![],
        depends_on: vec![],
    });
}

fn kind(_: &str, attr: &str) -> UpdateKind {
    if attr == "type" {
        UpdateKind::Replace
    } else {
        UpdateKind::InPlace
    }
}

fn run(desired: &[PlanDesired], state: &State, live: &LiveSet, targets: &[String], destroy: bool) -> Plan {
    plan(&PlanRequest {
        desired,
        state,
        live,
        refreshed: true,
        destroy,
        targets,
        redactor: &Redactor::default(),
        update_kind: &kind,
        created: "now".into(),
        imports: &Default::default(),
    })
}

fn action_of<'a>(p: &'a Plan, addr: &str) -> &'a ResourceChange {
    p.changes.iter().find(|c| c.address == addr).expect("change for address")
}

#[test]
fn create_noop_update_replace_delete() {
    let mut state = State::new();
    let mut lv = LiveSet::default();
    let a = json!({"name": "a", "type": "query alert", "options": {"thresholds": {"critical": 85}}});
    in_state(&mut state, "x.same", "1", a.clone());
    lv.insert(live("1", Some("x.same"), a.clone()));
    in_state(&mut state, "x.update", "2", a.clone());
    lv.insert(live("2", Some("x.update"), a.clone()));
    in_state(&mut state, "x.replace", "3", a.clone());
    lv.insert(live("3", Some("x.replace"), a.clone()));
    in_state(&mut state, "x.gone", "4", a.clone());
    lv.insert(live("4", Some("x.gone"), a.clone()));

    let mut upd = a.clone();
    upd["options"]["thresholds"]["critical"] = json!(90);
    let mut rep = a.clone();
    rep["type"] = json!("service check");
    let d = vec![
        desired("x.new", a.clone()),
        desired("x.replace", rep),
        desired("x.same", a.clone()),
        desired("x.update", upd),
    ];
    let p = run(&d, &state, &lv, &[], false);

    assert_eq!(action_of(&p, "x.new").action, Action::Create);
    assert_eq!(action_of(&p, "x.same").action, Action::NoOp);
    let u = action_of(&p, "x.update");
    assert_eq!(u.action, Action::Update);
    assert_eq!(u.attribute_changes.len(), 1);
    assert_eq!(u.attribute_changes[0].path, "options.thresholds.critical");
    assert_eq!(u.attribute_changes[0].before, Some(json!(85)));
    assert_eq!(u.attribute_changes[0].after, Some(json!(90)));
    assert_eq!(action_of(&p, "x.replace").action, Action::Replace);
    assert_eq!(action_of(&p, "x.gone").action, Action::Delete);
    assert_eq!(p.summary, Summary { create: 1, update: 1, replace: 1, delete: 1, no_op: 1 });
    let order: Vec<&str> = p.changes.iter().map(|c| c.address.as_str()).collect();
    assert_eq!(order, ["x.gone", "x.new", "x.replace", "x.same", "x.update"], "sorted, deterministic");
}

#[test]
fn deleted_and_edited_outside_are_restored() {
    let mut state = State::new();
    let mut lv = LiveSet::default();
    let a = json!({"name": "a", "query": "q > 1"});
    in_state(&mut state, "x.deleted", "1", a.clone());
    in_state(&mut state, "x.edited", "2", a.clone());
    lv.insert(live("2", Some("x.edited"), json!({"name": "a", "query": "q > 5"})));
    let d = vec![desired("x.deleted", a.clone()), desired("x.edited", a.clone())];
    let p = run(&d, &state, &lv, &[], false);
    let del = action_of(&p, "x.deleted");
    assert_eq!(del.action, Action::Create);
    assert!(del.reason.as_deref().unwrap_or("").contains("deleted outside"));
    let ed = action_of(&p, "x.edited");
    assert_eq!(ed.action, Action::Update);
    assert_eq!(ed.reason.as_deref(), Some("changed outside watchkeep"));
}

#[test]
fn adopts_marked_objects_missing_from_state() {
    let state = State::new();
    let mut lv = LiveSet::default();
    let a = json!({"name": "a"});
    lv.insert(marked_by(&state.lineage, "77", "x.crashed", a.clone()));
    let p = run(&[desired("x.crashed", a)], &state, &lv, &[], false);
    let c = action_of(&p, "x.crashed");
    assert_eq!(c.action, Action::NoOp);
    assert!(c.adopt);
    assert_eq!(c.id.as_deref(), Some("77"));
    assert_eq!(p.actionable().count(), 1, "an adoption is work to do even without attribute changes");
}

/// Two workspaces with the same configuration and their own states: neither adopts the other's
/// objects, and an unnamed (pre-ownership) marker is not adopted either.
#[test]
fn only_objects_marked_by_this_state_are_adopted() {
    let state = State::new();
    let other = State::new();
    let a = json!({"name": "a"});
    let mut lv = LiveSet::default();
    lv.insert(marked_by(&other.lineage, "5", "x.web", a.clone()));
    lv.insert(live("6", Some("x.old"), a.clone()));
    let p = run(&[desired("x.web", a.clone()), desired("x.old", a.clone())], &state, &lv, &[], false);
    let web = action_of(&p, "x.web");
    assert_eq!((web.action, web.adopt, web.id.as_deref()), (Action::Create, false, None));
    let why = web.reason.as_deref().unwrap_or_default();
    assert!(why.contains(&owner_id(&other.lineage)) && why.contains("left alone"), "{why}");
    let old = action_of(&p, "x.old");
    assert_eq!((old.action, old.adopt), (Action::Create, false));
    assert!(
        old.reason.as_deref().unwrap_or_default().contains("watchkeep import --id 6"),
        "{:?}",
        old.reason
    );
    assert!(p.conflicts.is_empty());
}

/// Objects this state tracks: an unnamed marker is migrated by an update that says so; another
/// state's marker is a conflict, never an edit.
#[test]
fn tracked_objects_migrate_their_marker_or_conflict() {
    let mut state = State::new();
    let a = json!({"name": "a", "tags": ["watchkeep-address:new"]});
    let old_body = json!({"name": "a", "tags": ["watchkeep-address:old"]});
    in_state(&mut state, "x.legacy", "1", old_body.clone());
    in_state(&mut state, "x.taken", "2", a.clone());
    let mut lv = LiveSet::default();
    lv.insert(live("1", Some("x.legacy"), old_body));
    lv.insert(marked_by(&State::new().lineage, "2", "x.taken", a.clone()));
    let p = run(&[desired("x.legacy", a.clone()), desired("x.taken", a)], &state, &lv, &[], false);
    let legacy = action_of(&p, "x.legacy");
    assert_eq!(legacy.action, Action::Update);
    assert!(legacy.reason.as_deref().unwrap_or_default().contains("marker gains this state's owner id"));
    assert_eq!(p.conflicts.len(), 1, "{:?}", p.conflicts);
    assert!(p.conflicts[0].starts_with("x.taken:") && p.conflicts[0].contains("not edited"));
}

/// A create that took effect late left two objects with one address's marker: the plan keeps the
/// one state tracks and deletes the other, under an address no state entry has.
#[test]
fn a_second_object_with_this_states_marker_is_deleted_as_a_duplicate() {
    let mut state = State::new();
    let a = json!({"name": "a"});
    in_state(&mut state, "x.web", "1", a.clone());
    let mut lv = LiveSet::default();
    lv.insert(marked_by(&state.lineage, "1", "x.web", a.clone()));
    lv.insert(marked_by(&state.lineage, "2", "x.web", a.clone()));
    // Another state's object with the same address is never touched.
    lv.insert(marked_by(&State::new().lineage, "3", "x.web", a.clone()));
    let p = run(&[desired("x.web", a.clone())], &state, &lv, &[], false);
    assert_eq!(action_of(&p, "x.web").action, Action::NoOp);
    let dup = action_of(&p, "x.web (duplicate 2)");
    assert_eq!((dup.action, dup.id.as_deref()), (Action::Delete, Some("2")));
    assert!(dup.reason.as_deref().unwrap_or_default().starts_with("duplicate of x.web"));
    assert_eq!(p.summary.delete, 1, "only the duplicate: {:?}", p.changes);

    // Without state (a crash before the first save): one is adopted, the other deleted.
    let fresh = State::new();
    let mut lv = LiveSet::default();
    lv.insert(marked_by(&fresh.lineage, "7", "x.web", a.clone()));
    lv.insert(marked_by(&fresh.lineage, "8", "x.web", a.clone()));
    let p = run(&[desired("x.web", a)], &fresh, &lv, &[], false);
    let kept = action_of(&p, "x.web");
    assert!(kept.adopt && kept.id.as_deref() == Some("7"), "{kept:?}");
    assert_eq!(action_of(&p, "x.web (duplicate 8)").action, Action::Delete);
}

#[test]
fn targets_must_be_addresses() {
    for ok in [
        "baseline.soc2",
        r#"baseline.soc2["web-1"].cpu"#,
        "resource.datadog_monitor.x[0]",
        r#"a.b["q\"x"]"#,
        "route.on-call",
    ] {
        assert!(check_target(ok).is_ok(), "{ok}: {:?}", check_target(ok));
    }
    for bad in
        [r#"baseline.soc2[web"#, r#"baseline.soc2["web"#, "baseline..x", "", ".x", "x y", "x[]", "1x", "x]"]
    {
        assert!(check_target(bad).is_err(), "{bad} accepted");
    }
}

#[test]
fn targets_select_children_only() {
    assert!(targeted("baseline.soc2[\"web-1\"].cpu", &["baseline.soc2".into()]));
    assert!(targeted("baseline.soc2", &["baseline.soc2".into()]));
    assert!(!targeted("baseline.soc22[\"a\"]", &["baseline.soc2".into()]));
    let state = State::new();
    let d = vec![desired("a.one", json!({})), desired("b.two", json!({}))];
    let p = run(&d, &state, &LiveSet::default(), &["a.one".into()], false);
    assert_eq!(p.changes.len(), 1);
}

#[test]
fn destroy_deletes_everything_in_state() {
    let mut state = State::new();
    let mut lv = LiveSet::default();
    in_state(&mut state, "x.a", "1", json!({}));
    lv.insert(live("1", Some("x.a"), json!({})));
    let p = run(&[desired("x.a", json!({}))], &state, &lv, &[], true);
    assert_eq!(p.summary.delete, 1);
    assert_eq!(p.summary.create, 0);
}

#[test]
fn secrets_never_reach_the_plan() {
    let state = State::new();
    let r = Redactor::new(&["hunter2-secret".into()], &state.lineage);
    let d = vec![desired("x.a", json!({"message": "token hunter2-secret"}))];
    let p = plan(&PlanRequest {
        desired: &d,
        state: &state,
        live: &LiveSet::default(),
        refreshed: true,
        destroy: false,
        targets: &[],
        redactor: &r,
        update_kind: &kind,
        created: "now".into(),
        imports: &Default::default(),
    });
    let text = serde_json::to_string(&p).unwrap_or_default();
    assert!(!text.contains("hunter2-secret"));
    assert!(text.contains("(sensitive:"));
}

/// Only what the configuration sets is managed: vendor-chosen values, write-only values and
/// removals from the configuration.
#[test]
fn vendor_chosen_write_only_and_removed_attributes() {
    let sent = json!({"name": "a", "query": "q > 1", "classification": "metric", "priority": 2});
    // The vendor answers with a value of its own (`options.notify_audit`), never returns the
    // write-only `classification`, and reads it back without it.
    let answer = json!({"name": "a", "query": "q > 1", "priority": 2, "options": {"notify_audit": true}});
    let mut state = State::new();
    in_state(&mut state, "x.m", "1", answer.clone());
    state.resources[0].configured = leaves(&sent).into_iter().map(|(k, v)| (k, value_hash(&v))).collect();
    let mut lv = LiveSet::default();
    lv.insert(live("1", Some("x.m"), answer.clone()));

    let p = run(&[desired("x.m", sent.clone())], &state, &lv, &[], false);
    assert_eq!(action_of(&p, "x.m").action, Action::NoOp, "{:?}", action_of(&p, "x.m").attribute_changes);

    // A write-only value whose configuration changed is a change.
    let mut changed = sent.clone();
    changed["classification"] = json!("log");
    let p = run(&[desired("x.m", changed)], &state, &lv, &[], false);
    let c = action_of(&p, "x.m");
    assert_eq!(c.action, Action::Update);
    assert_eq!(c.attribute_changes.iter().map(|a| a.path.as_str()).collect::<Vec<_>>(), ["classification"]);

    // A vendor-chosen value moved out of band: the plan leaves it alone.
    let mut moved = answer.clone();
    moved["options"]["notify_audit"] = json!(false);
    let mut lv2 = LiveSet::default();
    lv2.insert(live("1", Some("x.m"), moved));
    let p = run(&[desired("x.m", sent.clone())], &state, &lv2, &[], false);
    assert_eq!(action_of(&p, "x.m").action, Action::NoOp);

    // A value the configuration stops setting is planned as its removal.
    let mut removed = sent.clone();
    removed.as_object_mut().unwrap().remove("priority");
    let p = run(&[desired("x.m", removed)], &state, &lv, &[], false);
    let c = action_of(&p, "x.m");
    assert_eq!(c.action, Action::Update);
    assert_eq!(c.attribute_changes.iter().map(|a| a.path.as_str()).collect::<Vec<_>>(), ["priority"]);

    // A configured value the vendor returned when written and no longer returns was removed out
    // of band: a change, not a write-only attribute.
    let mut gone = answer.clone();
    gone.as_object_mut().unwrap().remove("priority");
    let mut lv3 = LiveSet::default();
    lv3.insert(live("1", Some("x.m"), gone));
    let p = run(&[desired("x.m", sent)], &state, &lv3, &[], false);
    assert_eq!(action_of(&p, "x.m").action, Action::Update);
}

/// `watchkeep import`: an imported id is adopted at its new address (reason "imported"), even
/// though it carries no marker; an id already tracked in state is never adopted again.
#[test]
fn imports_are_adopted_first_and_tracked_ids_never() {
    let mut state = State::new();
    let mut lv = LiveSet::default();
    let a = json!({"name": "a", "tags": ["team:ops"]});
    in_state(&mut state, "datadog_monitor.kept", "7", a.clone());
    lv.insert(live("7", None, a.clone()));
    lv.insert(live("8", None, a.clone()));
    let marked = json!({"name": "a", "tags": ["team:ops", "watchkeep-address:x"]});
    let desired =
        vec![desired("datadog_monitor.new", marked.clone()), desired("datadog_monitor.again", marked)];
    let imports: BTreeMap<String, String> = [
        ("datadog_monitor.new".to_string(), "8".to_string()),
        ("datadog_monitor.again".to_string(), "7".to_string()),
    ]
    .into();
    let p = plan(&PlanRequest {
        desired: &desired,
        state: &state,
        live: &lv,
        refreshed: true,
        destroy: false,
        targets: &[],
        redactor: &Redactor::default(),
        update_kind: &kind,
        created: "now".into(),
        imports: &imports,
    });
    let new = action_of(&p, "datadog_monitor.new");
    assert!(new.adopt);
    assert_eq!(
        (new.action, new.id.as_deref(), new.reason.as_deref()),
        (Action::Update, Some("8"), Some("imported"))
    );
    assert_eq!(new.attribute_changes.iter().map(|c| c.path.as_str()).collect::<Vec<_>>(), ["tags"]);
    let again = action_of(&p, "datadog_monitor.again");
    assert!(!again.adopt);
    assert_eq!(again.action, Action::Create);
}
