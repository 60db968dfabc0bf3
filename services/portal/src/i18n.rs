//! Every string a page shows, in 简体中文 and English, side by side so neither can be
//! forgotten: a field missing in one language does not compile.
//!
//! The language comes from a sticky cookie the switch sets, else from `Accept-Language`,
//! else Chinese.

use axum::http::HeaderMap;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Lang {
    Zh,
    En,
}

/// The cookie the language switch sets.
pub const LANG_COOKIE: &str = "clearline_lang";

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "zh" | "zh-CN" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The cookie's choice, else the browser's preference, else Chinese.
    pub fn from_request(cookie: Option<&str>, headers: &HeaderMap) -> Lang {
        if let Some(lang) = cookie.and_then(Lang::parse) {
            return lang;
        }
        let accept = headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        Lang::from_accept_language(accept)
    }

    /// The best-weighted of Chinese and English in an `Accept-Language` header.
    pub fn from_accept_language(header: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let lang = if tag.starts_with("zh") {
                Lang::Zh
            } else if tag.starts_with("en") {
                Lang::En
            } else {
                continue;
            };
            if best.is_none_or(|(b, _)| q > b) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::Zh, |(_, lang)| lang)
    }

    pub fn t(self) -> &'static Texts {
        match self {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }

    pub fn is_zh(self) -> bool {
        self == Lang::Zh
    }

    /// Picks the Chinese or English one of a pair (catalog names, material names).
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

macro_rules! texts {
    ($($field:ident: $zh:literal / $en:literal,)*) => {
        /// The interface strings of one language.
        #[derive(Debug)]
        pub struct Texts { $(pub $field: &'static str,)* }
        pub static ZH: Texts = Texts { $($field: $zh,)* };
        pub static EN: Texts = Texts { $($field: $en,)* };
    };
}

texts! {
    app_name: "清线 · 业务办理" / "clearline",
    skip_to_main: "跳到正文" / "Skip to content",
    nav_catalog: "办事指南" / "Service guide",
    nav_clerk: "受理" / "Intake",
    nav_approver: "审批" / "Approvals",
    nav_fulfilment: "办结" / "Fulfilment",
    nav_dashboard: "看板" / "Dashboard",
    nav_search: "查询" / "Search",
    nav_admin: "用户管理" / "Users",
    signed_in_as: "当前用户" / "Signed in as",
    sign_in: "登录" / "Sign in",
    sign_out: "退出" / "Sign out",
    user_id: "用户名" / "User name",
    password: "密码" / "Password",
    sign_in_failed: "用户名或密码不正确，或账号已停用。" / "Wrong user name or password, or the account is disabled.",
    session_ended: "会话已结束，请重新登录。" / "Your session has ended; please sign in again.",
    language: "语言" / "Language",
    switch_language: "切换" / "Switch",
    catalog_title: "办事指南" / "Service guide",
    catalog_intro: "每项业务的办理流程、所需材料和承诺时限。请一次带齐所需材料。" / "The steps, required materials and promised time of each service. Please bring every material in one trip.",
    required_materials: "所需材料" / "Required materials",
    steps: "办理流程" / "Steps",
    promised_time: "承诺时限" / "Promised time",
    approval_needed: "需要审核" / "Needs approval",
    approval_not_needed: "无需审核" / "No approval needed",
    working_days: "个工作日" / "working days",
    calendar_days: "天" / "days",
    hours: "小时" / "hours",
    same_day: "当日办结" / "Same day",
    clerk_title: "受理登记" / "Register a request",
    service_type: "业务类型" / "Service type",
    choose: "选择" / "Choose",
    materials_brought: "所需材料（勾选群众已带来的）" / "Required materials (tick what the resident brought)",
    applicant: "申请人" / "Applicant",
    applicant_name: "姓名" / "Name",
    id_number: "公民身份号码" / "Resident ID number",
    phone: "联系电话" / "Phone",
    window: "窗口" / "Window",
    register: "登记" / "Register",
    invalid_id_number: "身份号码应为18位，出生日期有效" / "18 characters with a valid birth date",
    invalid_id_check_digit: "身份号码校验位不正确" / "The ID number's check digit is wrong",
    invalid_phone: "请输入11位手机号或带区号的固定电话" / "11-digit mobile or a landline with area code",
    invalid_name: "请输入姓名（1–64个字）" / "Enter the name (1–64 characters)",
    invalid_field: "此项有误" / "This field is invalid",
    form_has_errors: "表单有误，未保存任何内容，请修改后重新提交。" / "The form has errors; nothing was saved. Please correct them and submit again.",
    today_at_window: "本窗口今日业务" / "Today at my window",
    nothing_today: "今日暂无业务。" / "No cases yet today.",
    case_number: "业务编号" / "Case number",
    status: "状态" / "Status",
    stage: "阶段" / "Stage",
    received_at: "受理时间" / "Received",
    due_at: "承诺办结时间" / "Due",
    unit: "单位" / "Unit",
    actions: "操作" / "Actions",
    open: "打开" / "Open",
    notice_title: "一次性告知单" / "One-time notice of missing materials",
    notice_lead: "您申请办理的业务尚缺下列材料。请一次备齐后到窗口补交，我们不会再要求其他材料：" / "Your request still needs the materials below. Bring them all in one trip; we will not ask for anything else:",
    receipt_title: "受理回执" / "Receipt",
    receipt_lead: "您的申请已受理。请凭本回执查询进度、领取结果。" / "Your request has been received. Keep this receipt to follow it and to collect the result.",
    materials_received: "已收材料" / "Materials received",
    print: "打印" / "Print",
    add_materials: "补交材料" / "Add missing materials",
    add_materials_button: "登记补交" / "Record materials",
    cancel_case: "撤回申请" / "Withdraw the request",
    cancel_reason: "撤回原因" / "Reason",
    cancel_button: "确认撤回" / "Withdraw",
    back_to_intake: "返回受理" / "Back to intake",
    approver_title: "审批队列" / "Approval queue",
    filter: "筛选" / "Filter",
    all: "全部" / "All",
    overdue_only: "仅看超期" / "Overdue only",
    overdue: "超期" / "Overdue",
    submitted_at: "提交时间" / "Submitted",
    queue_empty: "队列为空。" / "The queue is empty.",
    keys_queue: "快捷键：j / k 上下移动，回车 打开，a 批准所选业务，r 驳回，m 退回补材料。" / "Keys: j / k move, Enter opens, a approves the selected case, r rejects, m returns for materials.",
    keys_case: "快捷键：a 批准，r 填写驳回原因，m 选择退回材料，j / k 上一件 / 下一件。" / "Keys: a approve, r reject (reason), m return (materials), j / k previous / next case.",
    live_new: "有新业务到达" / "New cases arrived",
    approve: "批准" / "Approve",
    reject: "驳回" / "Reject",
    reject_reason: "驳回原因（必填）" / "Reason for rejection (required)",
    return_for: "退回补材料" / "Return for materials",
    return_items: "需补交的材料" / "Materials still needed",
    note: "说明" / "Note",
    decision_done: "已处理" / "Done",
    case_title: "业务详情" / "Case",
    materials_missing: "缺少材料" / "Missing materials",
    timeline: "时间线" / "Timeline",
    time: "时间" / "Time",
    event: "事项" / "Event",
    by: "经办人" / "By",
    detail: "说明" / "Details",
    reason: "原因" / "Reason",
    previous: "上一件" / "Previous",
    next: "下一件" / "Next",
    fulfilment_title: "办结任务" / "Fulfilment tasks",
    mode: "办理方式" / "Mode",
    not_started: "待开始" / "Not started",
    scheduled_for: "上门时间" / "Visit time",
    start: "开始办理" / "Start",
    mark_fulfilled: "已办好" / "Ready",
    mark_closed: "已交付结案" / "Handed over",
    tasks_empty: "暂无任务。" / "No tasks.",
    dashboard_title: "积压看板" / "Backlog dashboard",
    open_by_stage: "在办业务（按阶段 × 单位）" / "Open cases by stage and unit",
    total: "合计" / "Total",
    oldest_open: "最久在办" / "Oldest open",
    received_today: "今日受理" / "Received today",
    finished_today: "今日办结" / "Finished today",
    open_history: "近14天在办数" / "Open cases, last 14 days",
    age_histogram: "在办时长分布" / "Age of open cases",
    pipes: "事件管道" / "Event pipes",
    outbox_unsent: "待发送事件" / "Outbox unsent",
    consumer_pending: "待消费事件" / "Consumer pending",
    dead_letters: "死信" / "Dead letters",
    service: "服务" / "Service",
    as_of: "数据时间" / "As of",
    unavailable: "暂不可用" / "unavailable",
    live_on: "实时更新中" / "Live",
    search_title: "业务查询" / "Find cases",
    received_from: "受理日期自" / "Received from",
    received_to: "至" / "to",
    search: "查询" / "Search",
    results: "条结果" / "results",
    no_results: "没有符合条件的业务。" / "No cases match.",
    owner: "当前负责人" / "Owner",
    age: "已用时" / "Age",
    admin_title: "用户管理" / "Users",
    add_user: "添加用户" / "Add a user",
    display_name: "显示名称" / "Display name",
    roles: "角色" / "Roles",
    save: "保存" / "Save",
    disable: "停用" / "Disable",
    enable: "启用" / "Enable",
    disabled: "已停用" / "Disabled",
    active: "正常" / "Active",
    user_exists: "该用户名已存在。" / "That user name is taken.",
    user_invalid: "请填写用户名（字母、数字、下划线）、姓名、至少8位的密码和至少一个角色。" / "Enter a user name (letters, digits, _), a name, a password of 8 or more characters and at least one role.",
    saved: "已保存。" / "Saved.",
    forbidden_title: "无权访问" / "Not allowed",
    forbidden_text: "您的角色不能查看此页面。" / "Your role may not see this page.",
    not_found_title: "未找到" / "Not found",
    not_found_text: "没有这个页面或业务。" / "There is no such page or case.",
    bad_form_title: "表单无效" / "Form refused",
    bad_form_text: "表单已过期或来源无效，未做任何更改。请返回后重新提交。" / "The form has expired or did not come from this site; nothing was changed. Go back and submit again.",
    error_title: "出错了" / "Something went wrong",
    error_text: "请求未能完成，请稍后重试。" / "The request could not be completed; please try again.",
    upstream_title: "服务暂不可用" / "Service unavailable",
    upstream_text: "后台服务暂时无法访问，请稍后重试。" / "A back-end service cannot be reached; please try again shortly.",
    refused: "操作未执行" / "Not done",
    refused_conflict: "业务状态已变化，此操作不再适用。" / "The case has moved on; this action no longer applies.",
    refused_same_person: "受理人不能审批自己受理的业务。" / "The clerk who received a case may not decide it.",
    refused_reason: "请填写原因（不超过500字）。" / "Give a reason (at most 500 characters).",
    refused_materials: "请至少选择一项需补交的材料。" / "Choose at least one material the resident must bring.",
    refused_missing: "请填写必填项。" / "Fill in the required fields.",
    refused_other: "请求被拒绝。" / "The request was refused.",
    days_short: "天" / "d",
    hours_short: "小时" / "h",
    minutes_short: "分" / "m",
    none: "无" / "none",
    yes: "是" / "yes",
    wait_reason: "等待事项" / "Waiting on",
    invalid_dates: "受理日期无效：请填写有效日期，且结束日期不早于开始日期。未执行查询。" / "The received dates are invalid: use real dates, the end no earlier than the start. Nothing was searched.",
    waiting_for: "已等待" / "Waiting for",
    waiting_since: "等待开始于" / "Waiting since",
    attention_only: "只看需人工处理" / "Needs attention only",
    attention_because: "需人工处理原因" / "Needs attention because",
    sla_level: "承诺时限" / "Promised time",
    sla_warning: "临近超时" / "Due soon",
    sla_breached: "已超时限" / "Past due",
    sla_panel: "承诺时限预警（按单位）" / "Promised time: warnings and breaches by unit",
    sla_warnings: "临近超时" / "Due soon",
    sla_breaches: "已超时限" / "Past due",
    sla_none: "暂无临近超时或已超时的业务。" / "No case is due soon or past due.",
    nav_dead_letters: "死信" / "Dead letters",
    dead_letters_title: "死信事件" / "Dead letters",
    dead_letters_intro: "多次投递仍无法处理的事件不会丢失：业务标记为需人工处理，修复原因后可重放，重放不会重复生效。" / "Events no delivery could apply are not lost: their case is flagged, and once the cause is fixed they can be replayed; a replay never applies twice.",
    dead_letters_none: "没有待处理的死信。" / "No open dead letters.",
    dead_letters_link: "查看死信" / "View dead letters",
    services_unreachable: "以下服务暂时无法访问，其死信未列出：" / "These services could not be reached; their dead letters are not listed:",
    show_resolved: "包括已解决的" / "Include resolved",
    dead_letter_title: "死信详情" / "Dead letter",
    back_to_dead_letters: "返回死信列表" / "Back to dead letters",
    error_message: "错误信息" / "Error",
    deliveries: "投递次数" / "Deliveries",
    failed_at: "失败时间" / "Failed at",
    subject: "事件主题" / "Subject",
    event_id: "事件编号" / "Event id",
    replays: "重放次数" / "Replays",
    last_replay: "最近重放" / "Last replay",
    resolved_at: "解决时间" / "Resolved",
    unresolved: "待处理" / "Open",
    replay: "重放" / "Replay",
    replay_applied: "重放成功：事件已处理，此死信已解决，业务的人工处理标记随之解除。" / "Replayed: the event applied, the dead letter is resolved and the case's flag cleared.",
    replay_failed: "重放仍然失败，此死信保留，下方为最新错误。" / "The replay failed again; the dead letter stays, with the latest error below.",
    replay_requested: "已请求重放：该服务的消费者运行后即处理。" / "Replay requested: the service's consumer applies it as soon as it runs.",
    replay_already: "此死信已解决，无需重放。" / "Already resolved; nothing was replayed.",
    nav_clearance: "当日清零" / "Daily clearance",
    clearance_title: "当日清零" / "Daily clearance",
    day: "日期" / "Day",
    show: "查看" / "Show",
    open_at_start: "日初在办" / "Open at start",
    received_in_day: "当日受理" / "Received",
    finished_in_day: "当日办结" / "Finished",
    carried_over: "结转" / "Carried over",
    clearance_rate: "清零率" / "Clearance rate",
    day_running: "当日尚未结束，数据截至" / "The day is still running; figures as of",
    day_ended: "当日已于以下时间结束：" / "The day ended at",
    carried_cases: "结转业务及原因" / "Carried-over cases and why",
    no_carried: "当日没有结转业务。" / "Nothing was carried over.",
    reason_text: "说明（选择“其他”时必填）" / "Note (required for “other”)",
    set_reason: "保存原因" / "Save reason",
    reason_by: "填写人" / "Set by",
    reason_needed: "待填写" / "Needed",
    sign_off: "签核当日" / "Sign the day off",
    signed_off_by: "已签核：" / "Signed off by",
    not_signed_off: "未签核" / "Not signed off",
    signed_ok: "当日已签核。" / "The day is signed off.",
    export_report: "导出报表" / "Download CSV",
    reasons_missing_lead: "以下结转业务尚未填写原因，全部填写后才能签核：" / "These carried-over cases still need a reason before the day can be signed off:",
    recent_days: "近14天" / "Last 14 days",
    clearance_30d: "近30天清零率" / "Clearance rate, last 30 days",
    clearance_overall: "合计清零率" / "Overall rate",
    latest_day: "最近一日" / "Latest day",
    days_signed: "已签核天数" / "Days signed off",
    refused_day_not_over: "当日尚未结束，结束后才能签核。" / "The day can be signed off once it is over.",
    refused_signed: "该日已签核，不能再修改。" / "This day is already signed off and can no longer change.",
    refused_reason_text: "选择“其他”时请填写说明，且不超过500字。" / "With “other”, say why, in at most 500 characters.",
    refused_reason_code: "请选择原因。" / "Choose a reason.",
    refused_not_carried: "该业务不是当日的结转业务。" / "That case was not carried over that day.",
    refused_role: "您的角色不能执行此操作。" / "Your role may not do this.",
}

/// A pair of names for a code; the code itself when the code is unknown.
fn pair(lang: Lang, code: &str, table: &[(&'static str, &'static str, &'static str)]) -> String {
    table.iter().find(|(c, _, _)| *c == code).map_or_else(
        || code.to_string(),
        |(_, zh, en)| lang.pick(zh, en).to_string(),
    )
}

/// A case status (the lifecycle's), or an approval or fulfilment task status.
pub fn status(lang: Lang, code: &str) -> String {
    pair(
        lang,
        code,
        &[
            ("booked", "已预约", "Booked"),
            ("awaiting_materials", "待补材料", "Awaiting materials"),
            ("received", "已受理", "Received"),
            ("pending_approval", "待审批", "Pending approval"),
            ("awaiting_fulfilment", "待办结", "Awaiting fulfilment"),
            ("in_fulfilment", "办理中", "In fulfilment"),
            ("fulfilled", "已办好待领取", "Ready"),
            ("closed", "已结案", "Closed"),
            ("rejected", "已驳回", "Rejected"),
            ("cancelled", "已撤回", "Cancelled"),
            ("pending", "待审批", "Pending"),
            ("approved", "已批准", "Approved"),
            ("returned", "已退回", "Returned"),
            ("awaiting", "待开始", "Not started"),
        ],
    )
}

pub fn stage(lang: Lang, code: &str) -> String {
    pair(
        lang,
        code,
        &[
            ("intake", "受理", "Intake"),
            ("approval", "审批", "Approval"),
            ("fulfilment", "办结", "Fulfilment"),
            ("done", "已完成", "Done"),
        ],
    )
}

pub fn role(lang: Lang, code: &str) -> String {
    pair(
        lang,
        code,
        &[
            ("clerk", "窗口受理", "Clerk"),
            ("approver", "审批", "Approver"),
            ("fulfilment", "办结", "Fulfilment officer"),
            ("supervisor", "督导", "Supervisor"),
            ("admin", "系统管理", "Admin"),
            ("system", "系统", "System"),
        ],
    )
}

pub fn mode(lang: Lang, code: &str) -> String {
    pair(
        lang,
        code,
        &[
            ("counter_pickup", "窗口领取", "Counter pickup"),
            ("mail", "邮寄", "Mail"),
            ("home_visit", "上门办理", "Home visit"),
        ],
    )
}

pub fn event(lang: Lang, code: &str) -> String {
    pair(
        lang,
        code,
        &[
            ("appointment_booked", "预约", "Appointment booked"),
            ("received", "受理", "Received"),
            (
                "materials_requested",
                "一次性告知缺少材料",
                "Missing materials notified",
            ),
            ("materials_completed", "材料补齐", "Materials completed"),
            ("submitted", "提交审批", "Submitted"),
            ("approved", "审批通过", "Approved"),
            ("rejected", "驳回", "Rejected"),
            ("returned", "退回补材料", "Returned for materials"),
            ("fulfilment_started", "开始办理", "Fulfilment started"),
            ("fulfilled", "已办好", "Ready"),
            ("closed", "结案", "Closed"),
            ("cancelled", "撤回", "Cancelled"),
            ("task_opened", "已进入办理队列", "Task opened"),
            ("sla_warning", "时限预警", "Promised time running out"),
            ("sla_breached", "已超时限", "Promised time breached"),
            ("attention_needed", "需人工处理", "Needs attention"),
            ("attention_cleared", "已解除人工处理", "Attention cleared"),
        ],
    )
}

/// What an open case waits on.
pub fn wait_reason(lang: Lang, code: &str) -> String {
    pair(
        lang,
        code,
        &[
            ("appointment", "等待预约办理", "Appointment ahead"),
            (
                "resident_materials",
                "等待群众补交材料",
                "Resident's materials",
            ),
            ("approver", "等待审批", "Approver"),
            ("production", "制证中", "In production"),
            ("home_visit_slot", "等待上门办理", "Home-visit slot"),
            ("resident_pickup", "等待群众领取", "Resident pickup"),
            ("needs_attention", "需人工处理", "Needs attention"),
        ],
    )
}

/// Why a case needs a person to look.
pub fn attention(lang: Lang, code: &str) -> String {
    pair(
        lang,
        code,
        &[
            (
                "dead_letter",
                "事件处理失败（死信）",
                "An event could not be applied (dead letter)",
            ),
            (
                "no_approval_task",
                "已提交审批但未生成审批任务",
                "Submitted, but no approval task was opened",
            ),
            (
                "no_fulfilment_task",
                "待办结但未生成办结任务",
                "Ready for fulfilment, but no task was opened",
            ),
        ],
    )
}

/// Why a case was carried over to the next day.
pub fn carry_reason(lang: Lang, code: &str) -> String {
    pair(
        lang,
        code,
        &[
            ("materials", "等待群众补交材料", "Resident's materials"),
            ("another_agency", "等待其他部门", "Another agency"),
            ("production", "制证中", "In production"),
            ("appointment", "已预约后续办理", "Appointment ahead"),
            ("other", "其他", "Other"),
        ],
    )
}

/// The reason codes a carried-over case may get, in the order the form offers them.
pub const CARRY_REASONS: [&str; 5] = [
    "materials",
    "another_agency",
    "production",
    "appointment",
    "other",
];

/// One of clearline's services, by name.
pub fn service(lang: Lang, name: &str) -> String {
    pair(
        lang,
        name,
        &[
            ("intake", "受理服务", "Intake"),
            ("approval", "审批服务", "Approval"),
            ("fulfilment", "办结服务", "Fulfilment"),
            ("backlog", "积压统计服务", "Backlog"),
        ],
    )
}

/// A service's problem code as a sentence for the person who clicked.
pub fn refusal(lang: Lang, code: &str) -> &'static str {
    let t = lang.t();
    match code {
        "invalid_transition" | "not_pending" => t.refused_conflict,
        "approver_is_receiving_clerk" => t.refused_same_person,
        "reason_required" | "reason_too_long" => t.refused_reason,
        "materials_required" | "unknown_material" => t.refused_materials,
        "missing_field" => t.refused_missing,
        "day_not_over" => t.refused_day_not_over,
        "already_signed_off" => t.refused_signed,
        "reasons_missing" => t.reasons_missing_lead,
        "reason_text_required" | "reason_text_too_long" => t.refused_reason_text,
        "unknown_reason_code" => t.refused_reason_code,
        "not_carried_over" => t.refused_not_carried,
        "forbidden_role" | "wrong_unit" | "forbidden" => t.refused_role,
        _ => t.refused_other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_best_weighted_of_ours() {
        assert_eq!(Lang::from_accept_language("en-US,en;q=0.9"), Lang::En);
        assert_eq!(
            Lang::from_accept_language("zh-CN,zh;q=0.9,en;q=0.8"),
            Lang::Zh
        );
        assert_eq!(
            Lang::from_accept_language("fr;q=1,en;q=0.5,zh;q=0.7"),
            Lang::Zh
        );
        assert_eq!(Lang::from_accept_language("de"), Lang::Zh);
        assert_eq!(Lang::from_accept_language(""), Lang::Zh);
    }

    #[test]
    fn unknown_codes_fall_back_to_the_code() {
        assert_eq!(status(Lang::Zh, "pending_approval"), "待审批");
        assert_eq!(status(Lang::En, "something_new"), "something_new");
    }
}
