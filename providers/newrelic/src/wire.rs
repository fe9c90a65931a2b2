//! NerdGraph documents, one place. Every value travels in `variables`; documents are constant.

pub(crate) const POLICY_FIELDS: &str = "id name incidentPreference";

pub(crate) const CONDITION_FRAGMENT: &str = "fragment Cond on AlertsNrqlCondition { id policyId name description \
enabled runbookUrl titleTemplate type updatedAt violationTimeLimitSeconds nrql { query dataAccountId evaluationOffset } \
terms { threshold thresholdDuration thresholdOccurrences operator priority } signal { aggregationWindow aggregationMethod \
aggregationDelay aggregationTimer fillOption fillValue slideBy evaluationDelay evaluationOffset } expiration { \
expirationDuration openViolationOnExpiration closeViolationsOnExpiration ignoreOnExpectedTermination } \
... on AlertsNrqlStaticCondition { valueFunction } }";

pub(crate) const DESTINATION_FIELDS: &str = "id name type active updatedAt properties { key value label displayValue } \
auth { __typename ... on AiNotificationsTokenAuth { authType prefix } ... on AiNotificationsBasicAuth { authType user } \
... on AiNotificationsCustomHeadersAuth { authType customHeaders { key } } ... on AiNotificationsOAuth2Auth { authType \
accessTokenUrl authorizationUrl clientId prefix refreshInterval refreshable scope } } secureUrl { prefix }";

pub(crate) const CHANNEL_FIELDS: &str =
    "id name type product destinationId active updatedAt properties { key value label displayValue }";

pub(crate) const WORKFLOW_FIELDS: &str = "id name workflowEnabled destinationsEnabled enrichmentsEnabled \
mutingRulesHandling updatedAt issuesFilter { id name type predicates { attribute operator values } } \
destinationConfigurations { channelId notificationTriggers updateOriginalMessage }";

/// `AiNotificationsError` (a union) as selected on mutation payloads.
pub(crate) const NOTIFICATION_ERROR: &str = "__typename ... on AiNotificationsResponseError { type description details } \
... on AiNotificationsDataValidationError { details fields { field message } } ... on AiNotificationsConstraintsError { \
constraints { name dependencies } } ... on AiNotificationsSuggestionError { type description details }";

pub(crate) const DASHBOARD_FIELDS: &str = "guid name description permissions updatedAt dashboardParentGuid \
pages { guid name description widgets { id title layout { column row width height } visualization { id } rawConfiguration \
linkedEntities { guid } } }";

pub(crate) fn policies_search() -> String {
    format!(
        "query WkPolicies($accountId: Int!, $cursor: String) {{ actor {{ account(id: $accountId) {{ alerts {{ \
         policiesSearch(cursor: $cursor) {{ nextCursor policies {{ {POLICY_FIELDS} }} }} }} }} }} }}"
    )
}

pub(crate) fn conditions_search() -> String {
    format!(
        "query WkConditions($accountId: Int!, $cursor: String, $criteria: AlertsNrqlConditionsSearchCriteriaInput) {{ \
         actor {{ account(id: $accountId) {{ alerts {{ nrqlConditionsSearch(cursor: $cursor, searchCriteria: $criteria) {{ \
         nextCursor nrqlConditions {{ ...Cond }} }} }} }} }} }} {CONDITION_FRAGMENT}"
    )
}

/// How many NRQL conditions the account has (all types), without reading them.
pub(crate) const CONDITION_COUNT: &str =
    "query WkConditionCount($accountId: Int!) { actor { account(id: $accountId) { \
     alerts { nrqlConditionsSearch { totalCount } } } } }";

pub(crate) fn destinations() -> String {
    format!(
        "query WkDestinations($accountId: Int!, $cursor: String, $filters: AiNotificationsDestinationFilter) {{ actor {{ \
         account(id: $accountId) {{ aiNotifications {{ destinations(cursor: $cursor, filters: $filters) {{ nextCursor \
         error {{ type description details }} errors {{ type description details }} entities {{ {DESTINATION_FIELDS} }} \
         }} }} }} }} }}"
    )
}

pub(crate) fn channels() -> String {
    format!(
        "query WkChannels($accountId: Int!, $cursor: String, $filters: AiNotificationsChannelFilter) {{ actor {{ \
         account(id: $accountId) {{ aiNotifications {{ channels(cursor: $cursor, filters: $filters) {{ nextCursor \
         error {{ type description details }} errors {{ type description details }} entities {{ {CHANNEL_FIELDS} }} \
         }} }} }} }} }}"
    )
}

pub(crate) fn workflows() -> String {
    format!(
        "query WkWorkflows($accountId: Int!, $cursor: String, $filters: AiWorkflowsFilters) {{ actor {{ \
         account(id: $accountId) {{ aiWorkflows {{ workflows(cursor: $cursor, filters: $filters) {{ nextCursor \
         entities {{ {WORKFLOW_FIELDS} }} }} }} }} }} }}"
    )
}

pub(crate) const DASHBOARD_SEARCH: &str =
    "query WkDashboardSearch($query: String, $cursor: String) { actor { \
entitySearch(query: $query) { results(cursor: $cursor) { nextCursor entities { guid accountId \
... on DashboardEntityOutline { dashboardParentGuid } } } } } }";

pub(crate) fn dashboard_entities() -> String {
    format!(
        "query WkDashboards($guids: [EntityGuid!]!) {{ actor {{ entities(guids: $guids) {{ guid \
         ... on DashboardEntity {{ {DASHBOARD_FIELDS} }} }} }} }}"
    )
}

pub(crate) fn policy_create() -> String {
    format!(
        "mutation WkPolicyCreate($accountId: Int!, $policy: AlertsPolicyInput!) {{ \
         alertsPolicyCreate(accountId: $accountId, policy: $policy) {{ {POLICY_FIELDS} }} }}"
    )
}

pub(crate) fn policy_update() -> String {
    format!(
        "mutation WkPolicyUpdate($accountId: Int!, $id: ID!, $policy: AlertsPolicyUpdateInput!) {{ \
         alertsPolicyUpdate(accountId: $accountId, id: $id, policy: $policy) {{ {POLICY_FIELDS} }} }}"
    )
}

pub(crate) const POLICY_DELETE: &str = "mutation WkPolicyDelete($accountId: Int!, $id: ID!) { \
alertsPolicyDelete(accountId: $accountId, id: $id) { id } }";

pub(crate) fn condition_create() -> String {
    format!(
        "mutation WkConditionCreate($accountId: Int!, $policyId: ID!, $condition: AlertsNrqlConditionStaticInput!) {{ \
         alertsNrqlConditionStaticCreate(accountId: $accountId, policyId: $policyId, condition: $condition) {{ ...Cond }} }} \
         {CONDITION_FRAGMENT}"
    )
}

pub(crate) fn condition_update() -> String {
    format!(
        "mutation WkConditionUpdate($accountId: Int!, $id: ID!, $condition: AlertsNrqlConditionUpdateStaticInput!) {{ \
         alertsNrqlConditionStaticUpdate(accountId: $accountId, id: $id, condition: $condition) {{ ...Cond }} }} \
         {CONDITION_FRAGMENT}"
    )
}

pub(crate) const CONDITION_DELETE: &str = "mutation WkConditionDelete($accountId: Int!, $id: ID!) { \
alertsConditionDelete(accountId: $accountId, id: $id) { id } }";

pub(crate) fn destination_create() -> String {
    format!(
        "mutation WkDestinationCreate($accountId: Int!, $destination: AiNotificationsDestinationInput!) {{ \
         aiNotificationsCreateDestination(accountId: $accountId, destination: $destination) {{ \
         destination {{ {DESTINATION_FIELDS} }} error {{ {NOTIFICATION_ERROR} }} errors {{ {NOTIFICATION_ERROR} }} }} }}"
    )
}

pub(crate) fn destination_update() -> String {
    format!(
        "mutation WkDestinationUpdate($accountId: Int!, $destinationId: ID!, $destination: AiNotificationsDestinationUpdate!) {{ \
         aiNotificationsUpdateDestination(accountId: $accountId, destinationId: $destinationId, destination: $destination) {{ \
         destination {{ {DESTINATION_FIELDS} }} error {{ {NOTIFICATION_ERROR} }} errors {{ {NOTIFICATION_ERROR} }} }} }}"
    )
}

pub(crate) const DESTINATION_DELETE: &str =
    "mutation WkDestinationDelete($accountId: Int!, $destinationId: ID!) { \
aiNotificationsDeleteDestination(accountId: $accountId, destinationId: $destinationId) { ids \
error { type description details } errors { type description details } } }";

pub(crate) fn channel_create() -> String {
    format!(
        "mutation WkChannelCreate($accountId: Int!, $channel: AiNotificationsChannelInput!) {{ \
         aiNotificationsCreateChannel(accountId: $accountId, channel: $channel) {{ \
         channel {{ {CHANNEL_FIELDS} }} error {{ {NOTIFICATION_ERROR} }} errors {{ {NOTIFICATION_ERROR} }} }} }}"
    )
}

pub(crate) fn channel_update() -> String {
    format!(
        "mutation WkChannelUpdate($accountId: Int!, $channelId: ID!, $channel: AiNotificationsChannelUpdate!) {{ \
         aiNotificationsUpdateChannel(accountId: $accountId, channelId: $channelId, channel: $channel) {{ \
         channel {{ {CHANNEL_FIELDS} }} error {{ {NOTIFICATION_ERROR} }} errors {{ {NOTIFICATION_ERROR} }} }} }}"
    )
}

pub(crate) const CHANNEL_DELETE: &str = "mutation WkChannelDelete($accountId: Int!, $channelId: ID!) { \
aiNotificationsDeleteChannel(accountId: $accountId, channelId: $channelId) { ids \
error { type description details } errors { type description details } } }";

pub(crate) fn workflow_create() -> String {
    format!(
        "mutation WkWorkflowCreate($accountId: Int!, $workflow: AiWorkflowsCreateWorkflowInput!) {{ \
         aiWorkflowsCreateWorkflow(accountId: $accountId, createWorkflowData: $workflow) {{ \
         workflow {{ {WORKFLOW_FIELDS} }} errors {{ type description }} }} }}"
    )
}

pub(crate) fn workflow_update() -> String {
    format!(
        "mutation WkWorkflowUpdate($accountId: Int!, $workflow: AiWorkflowsUpdateWorkflowInput!) {{ \
         aiWorkflowsUpdateWorkflow(accountId: $accountId, deleteUnusedChannels: false, updateWorkflowData: $workflow) {{ \
         workflow {{ {WORKFLOW_FIELDS} }} errors {{ type description }} }} }}"
    )
}

pub(crate) const WORKFLOW_DELETE: &str = "mutation WkWorkflowDelete($accountId: Int!, $id: ID!) { \
aiWorkflowsDeleteWorkflow(accountId: $accountId, deleteChannels: false, id: $id) { id errors { type description } } }";

pub(crate) fn dashboard_create() -> String {
    format!(
        "mutation WkDashboardCreate($accountId: Int!, $dashboard: DashboardInput!) {{ \
         dashboardCreate(accountId: $accountId, dashboard: $dashboard) {{ entityResult {{ {DASHBOARD_RESULT} }} \
         errors {{ type description }} }} }}"
    )
}

pub(crate) fn dashboard_update() -> String {
    format!(
        "mutation WkDashboardUpdate($guid: EntityGuid!, $dashboard: DashboardInput!) {{ \
         dashboardUpdate(guid: $guid, dashboard: $dashboard) {{ entityResult {{ {DASHBOARD_RESULT} }} \
         errors {{ type description }} }} }}"
    )
}

const DASHBOARD_RESULT: &str =
    "guid name description permissions updatedAt pages { guid name description widgets { id \
title layout { column row width height } visualization { id } rawConfiguration linkedEntities { guid } } }";

pub(crate) const DASHBOARD_DELETE: &str =
    "mutation WkDashboardDelete($guid: EntityGuid!) { dashboardDelete(guid: $guid) { status errors { type description } } }";

/// The fields of an incident the alert log reads (`AiIssuesNewRelicIncident`: incidents opened
/// by alert conditions; other implementations of `AiIssuesIIncident` come back as `__typename`
/// alone and are skipped).
pub(crate) const INCIDENT_FIELDS: &str = "__typename ... on AiIssuesNewRelicIncident { incidentId \
conditionFamilyId priority state title createdAt closedAt updatedAt }";

pub(crate) fn incidents() -> String {
    format!(
        "query WkIncidents($accountId: Int!, $cursor: String, $timeWindow: TimeWindowInput!) {{ actor {{ \
         account(id: $accountId) {{ aiIssues {{ incidents(cursor: $cursor, timeWindow: $timeWindow) {{ nextCursor \
         incidents {{ {INCIDENT_FIELDS} }} }} }} }} }} }}"
    )
}
