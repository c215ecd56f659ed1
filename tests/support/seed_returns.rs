//! The seed dashboard's (2020/21 Quarter 2) returns as workbooks: what departments sent for Q1 and Q2,
//! and the historical return. Used to write `inbox/` (examples/write_sample_inbox.rs) and by the tests.

// Each user (the sample-inbox example, the tests, the benchmark) uses a different part of this module.
#![allow(dead_code)]

use chrono::NaiveDate;
use collate::schema::Schemas;
use collate::template::{Entry, PlanUpdateDraft, ReturnDraft};

/// A figure row: indicator, measure, year offset, and its quarters (None is a blank cell).
type Row = (&'static str, &'static str, i32, [Option<f64>; 4]);

/// One department's quarter-2 return: its rows, and the analysis texts.
#[derive(Clone)]
pub struct DepartmentReturn {
    pub template: &'static str,
    pub short_name: &'static str,
    pub completed_by: &'static str,
    pub rows: Vec<Row>,
    pub analysis: Vec<(&'static str, &'static str)>,
}

const N: Option<f64> = None;

fn q(values: [f64; 2]) -> [Option<f64>; 4] {
    [Some(values[0]), Some(values[1]), None, None]
}

pub fn seed_departments() -> Vec<DepartmentReturn> {
    vec![
        DepartmentReturn {
            template: "psd-quarterly",
            short_name: "PSD",
            completed_by: "PSD Performance Analyst",
            rows: vec![
                ("PSD 1", "complaints", 0, q([39.0, 24.0])),
                ("PSD 1", "allegations", 0, q([58.0, 47.0])),
                ("PSD 1", "complaints_upheld", 0, q([1.0, 0.0])),
                // The seed gives no Q2 figure for upheld allegations.
                ("PSD 1", "allegations_upheld", 0, [Some(1.0), N, N, N]),
                ("PSD 1", "complaints_upheld_integrity", 0, q([0.0, 0.0])),
                // The seed has a QTR 3 figure in its Quarter 2 report.
                (
                    "PSD 1",
                    "allegations_upheld_integrity",
                    0,
                    [Some(0.0), Some(0.0), Some(0.0), N],
                ),
                ("PSD 2", "cases", 0, q([7.0, 2.0])),
                ("PSD 2", "cases_integrity", 0, q([0.0, 0.0])),
            ],
            analysis: vec![
                (
                    "PSD 1",
                    "There has been an increase in the number of complaints and allegations made in comparison to previous years. This is consistent with the natural picture and although we may have expected a reduction due to the drop in footfall across the City, the year-on-year trend has continued to increase. There are a number of explanations for this including an increased accessibility through single online reporting. As the Force continues to grow its workforce it is also expected that there will be a correlation in increased allegations made.",
                ),
                (
                    "PSD 2",
                    "There were 2 Civil Claims registered, neither relate to integrity matters. One was for a dog bite which had been dealt with through the complaints process and not upheld, the other was a claim for loss of property.",
                ),
            ],
        },
        DepartmentReturn {
            template: "hr-quarterly",
            short_name: "HR",
            completed_by: "Head of HR",
            rows: vec![
                ("HR 1", "grievances_integrity", 0, q([0.0, 0.0])),
                ("HR 1", "grievances", 0, q([0.0, 0.0])),
                ("HR 2", "tribunals_integrity", 0, q([0.0, 0.0])),
                ("HR 2", "tribunals", 0, q([0.0, 0.0])),
                ("HR 3", "officer_leavers", 0, q([8.0, 20.0])),
                ("HR 3", "officer_leavers_integrity", 0, q([0.0, 0.0])),
                ("HR 3", "staff_leavers", 0, q([11.0, 11.0])),
                ("HR 3", "staff_leavers_integrity", 0, q([0.0, 0.0])),
                ("HR 4", "dismissals", 0, q([0.0, 0.0])),
            ],
            analysis: vec![
                (
                    "HR 1",
                    "During the second quarter we have had no new grievance cases at all and no outstanding grievance concluded. We have noticed since COVID19 lockdown case work has reduced whilst people have been working remotely. In some cases there have been delays in concluding cases due to various participants not being available due to COVID19 and planned leave.",
                ),
                (
                    "HR 2",
                    "We have had no new ETs submitted or attended any planned ET during this period. We have had a Judicial Mediation at the end of the period related to Constructive Dismissal (Challenging and reporting improper conduct/Duties and responsibilities). This was not successful so we will move to an ET in the New Year.",
                ),
                (
                    "HR 3",
                    "Of the 20 Police Officer Leavers in Quarter 2 : 13 were for Normal retirement, 2 were transfers to other Forces and 5 were for voluntary resignations Of the 11 staff leavers in Quarter 2: 1 was for dismissal as a result of unsatisfactory Probationary period, 8 were voluntary resignations and 2 Normal retirement. In terms of Exit interviews only 4 were completed during this period (2 x Officers and 2 x Staff) One member of staff referred to discrimination/harassment by their line manager – This had already been investigated under the grievance process with decision only to partially uphold one element.",
                ),
                (
                    "HR 4",
                    "In Quarter 2 there were no Dismissals of Police staff as a result of Code of ethics. The only Dismissal as recorded above was for unsatisfactory probationary period which was performance not conduct.",
                ),
            ],
        },
        DepartmentReturn {
            template: "fin-quarterly",
            short_name: "Finance",
            completed_by: "Finance Business Transformation & Performance Manager",
            rows: vec![
                (
                    "FIN 1",
                    "compliant_cards",
                    -1,
                    [Some(2775.0), Some(3021.0), Some(3681.0), Some(3249.0)],
                ),
                (
                    "FIN 1",
                    "referrals",
                    -1,
                    [Some(0.0), Some(0.0), Some(0.0), Some(0.0)],
                ),
                ("FIN 1", "compliant_cards", 0, q([1077.0, 1979.0])),
                ("FIN 1", "referrals", 0, q([0.0, 0.0])),
            ],
            analysis: vec![(
                "FIN 1",
                "Reports from quarter 1 and 2, show a compliance of 88% and 91% respectively. No referrals have been made to PSD or HR for honesty and integrity issues.",
            )],
        },
        DepartmentReturn {
            template: "ld-quarterly",
            short_name: "L&D",
            completed_by: "L&D Business Manager",
            rows: vec![
                ("L&D 1", "disclosure_courses", 0, q([0.0, 0.0])),
                // 22 officers trained in Disclosure in a quarter with no Disclosure course run.
                ("L&D 1", "disclosure_trained", 0, q([0.0, 22.0])),
                ("L&D 1", "stop_search_courses", 0, q([0.0, 0.0])),
                ("L&D 1", "stop_search_trained", 0, [Some(0.0), N, N, N]),
                ("L&D 1", "vulnerability_courses", 0, q([0.0, 0.0])),
                ("L&D 1", "vulnerability_trained", 0, [Some(0.0), N, N, N]),
            ],
            analysis: vec![
                (
                    "L&D 1",
                    "All non-essential training (everything but IPLDP) was cancelled after 23 March 2020. The majority of the force have been captured in the previous 2 years for Disclosure, Stop & Search and Vulnerability training. Disclosure training is to be reviewed and renewed in 2021.",
                ),
                (
                    "L&D 2",
                    "As part of Sergeants Core Leadership course we talk about the Code of Ethics as part of a number of the lessons. 2 x Silver Command courses are to be run in December 2020 aimed at C/Insp and Supt. There is an emphasis on the NDM including an in-depth look at the Code of Ethics and their impact of decision making. PSD completed a 'focus on' in September to inform regarding the new PRI system and ethical use of this. This was well received and is due to be delivered to the FRC this month 16 officers received Tutor Constable training over 5 sessions.",
                ),
            ],
        },
        DepartmentReturn {
            template: "cc-quarterly",
            short_name: "Corporate Communications",
            completed_by: "Head of Corporate Communications",
            rows: vec![
                ("CC 1", "media_contacts", 0, q([0.0, 0.0])),
                ("CC 1", "referred_to_psd", 0, q([0.0, 0.0])),
            ],
            analysis: vec![(
                "CC 1",
                "No referrals were made by Corporate Communication for this period.",
            )],
        },
        DepartmentReturn {
            template: "piu-quarterly",
            short_name: "PIU",
            completed_by: "PIU Manager",
            // No victim satisfaction figures: the new survey contract starts in November.
            rows: vec![
                ("PC 2", "respondents", 0, [N, N, N, N]),
                ("PC 2", "fair", 0, [N, N, N, N]),
                ("PC 2", "respect", 0, [N, N, N, N]),
            ],
            analysis: vec![(
                "PC 2",
                "A new contract has been awarded by PIU to undertake the victim satisfaction survey on behalf of the force, data collection commenced on 1st November to inform this measure going forward.",
            )],
        },
    ]
}

/// The community survey (PC 1) as Strategic Development reports it: year offset, survey type, and
/// respondents then the five percentages; None is "N/A".
pub fn seed_survey() -> Vec<(i32, &'static str, [Option<f64>; 6])> {
    vec![
        (
            -1,
            "Street",
            [
                Some(519.0),
                Some(41.0),
                Some(52.0),
                Some(6.0),
                Some(1.0),
                Some(0.0),
            ],
        ),
        (
            -1,
            "Online",
            [
                Some(103.0),
                Some(53.0),
                Some(38.0),
                Some(8.0),
                Some(2.0),
                Some(0.0),
            ],
        ),
        (0, "Street", [None, None, None, None, None, None]),
        (
            0,
            "Online",
            [
                Some(580.0),
                Some(48.0),
                Some(38.0),
                Some(10.0),
                Some(3.0),
                Some(2.0),
            ],
        ),
    ]
}

pub const SURVEY_ANALYSIS: &str = "Full analysis of the survey data and comments have yet to be undertaken however the preliminary data above shows that 86% of the respondents believed that officers would act with integrity. This is compared to 93% from the street survey last year and 93% from the online responses. This shows a reduction in the perception of integrity of officers by the public. This year also saw a 2% perception that strongly disagreed that officers would act with integrity that was not shown in any responses last year.";

/// An indicator, a measure, and its figure for each financial year.
pub type YearSeries = (&'static str, &'static str, Vec<(&'static str, f64)>);

/// The historical annual figures of the seed dashboard.
pub fn seed_history() -> Vec<YearSeries> {
    let years = ["2015/16", "2016/17", "2017/18", "2018/19", "2019/20"];
    let series = |values: [f64; 5]| years.iter().copied().zip(values).collect::<Vec<_>>();
    vec![
        ("HR 1", "grievances", series([7.0, 13.0, 8.0, 15.0, 16.0])),
        ("HR 2", "tribunals", series([0.0, 2.0, 2.0, 1.0, 2.0])),
        (
            "PSD 1",
            "complaints",
            series([105.0, 102.0, 90.0, 54.0, 78.0]),
        ),
        ("PSD 2", "cases", series([23.0, 17.0, 18.0, 23.0, 15.0])),
        ("CC 1", "referred_to_psd", vec![("2019/20", 0.0)]),
    ]
}

const HEADINGS: [&str; 4] = ["QTR 1", "QTR 2", "QTR 3", "QTR 4"];
const SURVEY_COLUMNS: [&str; 6] = [
    "respondents",
    "strongly_agree",
    "tend_to_agree",
    "neither",
    "tend_to_disagree",
    "strongly_disagree",
];

fn template<'s>(schemas: &'s Schemas, id: &str) -> &'s collate::schema::Template {
    schemas
        .template(id)
        .unwrap_or_else(|| panic!("the schemas have no template {id}"))
}

/// A department's return for 2020/21 `quarter` (1 or 2): the quarters up to it (and, as in the seed, any
/// later figure it wrongly carries in quarter 2), the analysis in quarter 2 only.
pub fn department_draft<'s>(
    schemas: &'s Schemas,
    department: &DepartmentReturn,
    quarter: u8,
) -> ReturnDraft<'s> {
    let completed =
        NaiveDate::from_ymd_opt(2020, if quarter == 1 { 7 } else { 10 }, 15).expect("date");
    let mut draft = ReturnDraft::new(template(schemas, department.template), schemas)
        .period("2020/21", &format!("QTR {quarter}"))
        .field("completed_by", department.completed_by)
        .field("date_completed", Entry::Date(completed));
    for (indicator, measure, year_offset, values) in &department.rows {
        for (index, value) in values.iter().enumerate() {
            let in_return = *year_offset < 0 || quarter == 2 || index < usize::from(quarter);
            if let (Some(value), true) = (value, in_return) {
                draft = draft.figure(indicator, measure, *year_offset, HEADINGS[index], *value);
            }
        }
    }
    if quarter == 2 {
        for (indicator, text) in &department.analysis {
            draft = draft.analysis(indicator, text);
        }
    }
    draft
}

pub fn survey_draft(schemas: &Schemas, quarter: u8) -> ReturnDraft<'_> {
    let completed =
        NaiveDate::from_ymd_opt(2020, if quarter == 1 { 7 } else { 10 }, 15).expect("date");
    let mut draft = ReturnDraft::new(template(schemas, "sd-quarterly"), schemas)
        .period("2020/21", &format!("QTR {quarter}"))
        .field("completed_by", "Strategic Development Officer")
        .field("date_completed", Entry::Date(completed));
    for (year_offset, survey, values) in seed_survey() {
        for (column, value) in SURVEY_COLUMNS.iter().zip(values) {
            let measure = format!("{}_{column}", survey.to_lowercase());
            let entry = value
                .map(Entry::Number)
                .unwrap_or(Entry::Text("N/A".into()));
            draft = draft.figure("PC 1", &measure, year_offset, "", entry);
        }
    }
    if quarter == 2 {
        draft = draft.analysis("PC 1", SURVEY_ANALYSIS);
    }
    draft
}

pub fn history_draft(schemas: &Schemas) -> ReturnDraft<'_> {
    let mut draft = ReturnDraft::new(template(schemas, "historical"), schemas)
        .identity("financial_year", "2020/21");
    for (indicator, measure, series) in seed_history() {
        for (year, value) in series {
            draft = draft.figure(indicator, measure, 0, year, value);
        }
    }
    draft
}

/// Every seed return as (file name, workbook bytes).
pub fn seed_workbooks(schemas: &Schemas) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for quarter in [1u8, 2] {
        for department in seed_departments() {
            let name = format!("2020-21 Q{quarter} {} return.xlsx", department.short_name);
            let bytes = department_draft(schemas, &department, quarter)
                .to_bytes()
                .expect("workbook");
            files.push((name, bytes));
        }
        let bytes = survey_draft(schemas, quarter).to_bytes().expect("workbook");
        files.push((
            format!("2020-21 Q{quarter} Strategic Development return.xlsx"),
            bytes,
        ));
    }
    files.push((
        "Historical annual figures 2015-16 to 2019-20.xlsx".into(),
        history_draft(schemas).to_bytes().expect("workbook"),
    ));
    for update in seed_plan_updates() {
        files.push((update.file.clone(), plan_update_bytes(schemas, &update)));
    }
    files
}

/// One of the seeds' action plan updates, as an owning department returns it.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedPlanUpdate {
    pub file: String,
    pub plan: String,
    pub department: String,
    pub period: String,
    pub rows: Vec<collate::template::PlanRow>,
}

/// The trackers' statuses and updates from the seeds (`seed_plan_updates.toml`).
pub fn seed_plan_updates() -> Vec<SeedPlanUpdate> {
    #[derive(serde::Deserialize)]
    struct File {
        updates: Vec<SeedPlanUpdate>,
    }
    let file: File =
        toml::from_str(include_str!("seed_plan_updates.toml")).expect("seed plan updates parse");
    file.updates
}

/// The seed update for `plan` from `department`.
pub fn seed_plan_update(plan: &str, department: &str) -> SeedPlanUpdate {
    seed_plan_updates()
        .into_iter()
        .find(|u| u.plan == plan && u.department == department)
        .expect("a seed update for this plan and department")
}

pub fn plan_update_bytes(schemas: &Schemas, update: &SeedPlanUpdate) -> Vec<u8> {
    let plan = schemas.plan(&update.plan).expect("plan in schemas");
    let department = schemas
        .department(&update.department)
        .map(|d| d.name.clone())
        .expect("department in schemas");
    PlanUpdateDraft::new(plan, &department, &update.period)
        .rows(update.rows.clone())
        .to_bytes()
        .expect("workbook")
}

/// `count` distinct returns from the six departments, as (file name, bytes): `periods` quarters ending
/// with 2020/21 Q4, oldest first, then corrections of the latest four (none when `count` is at most six
/// times `periods`). Adding the same amount to every seed figure keeps parts within wholes and courses with
/// trainees. With `own_quarter_only`, a return gives its own quarter's figures and restates nothing, so
/// every return has figures of its own on the dashboard (and queries for the quarters it leaves blank).
pub fn generated_returns(
    schemas: &Schemas,
    count: usize,
    periods: usize,
    own_quarter_only: bool,
) -> Vec<(String, Vec<u8>)> {
    let departments = seed_departments();
    (0..count)
        .map(|i| {
            let mut department = departments[i % departments.len()].clone();
            // The history in the order a long-running installation received it, oldest quarter first
            // (ending with 2020/21 Q4), then corrections of the latest four quarters: no return is a
            // year or more from the quarter being collected, which would be queried.
            let cycles = count.div_ceil(departments.len()).max(1);
            let (cycle, periods) = (i / departments.len(), periods.clamp(1, cycles));
            let back = match cycle < periods {
                true => periods - 1 - cycle,
                false => (cycle - periods) % periods.min(4),
            };
            let index = 2020 * 4 + 3 - back as i32;
            let (year, quarter) = (index / 4, (index % 4 + 1) as usize);
            // A figure has one value whichever return carries it (a Q3 return repeats Q1 and Q2 as
            // accepted, and last year's quarters as they were), so nothing is restated; a correction
            // differs in the date it was completed.
            let resubmission = cycle.saturating_sub(periods - 1);
            // Last year's row starts from this year's values, so that a quarter is the same figure
            // whether it comes as this year's or as last year's.
            let this_year: Vec<Row> = department
                .rows
                .iter()
                .filter(|r| r.2 == 0)
                .cloned()
                .collect();
            for row in &mut department.rows {
                if let Some(same) = this_year.iter().find(|r| (r.0, r.1) == (row.0, row.1)) {
                    row.3 = same.3;
                }
                for (q, value) in row.3.iter_mut().enumerate() {
                    let due = if own_quarter_only {
                        row.2 == 0 && q + 1 == quarter
                    } else {
                        row.2 < 0 || q < quarter
                    };
                    let figure_period = (2020 - (year + row.2)) as usize * 4 + q;
                    let bump = 1.0 + ((figure_period + i % departments.len()) % 7) as f64;
                    *value = due.then(|| value.unwrap_or(0.0) + bump);
                }
            }
            let completed = NaiveDate::from_ymd_opt(2020, 10, 15)
                .and_then(|date| date.checked_add_days(chrono::Days::new(resubmission as u64)))
                .expect("a date");
            let bytes = department_draft(schemas, &department, 2)
                .period(
                    &format!("{year}/{:02}", (year + 1) % 100),
                    &format!("QTR {quarter}"),
                )
                .field("date_completed", Entry::Date(completed))
                .to_bytes()
                .expect("workbook");
            (
                format!("{i:05} {} return.xlsx", department.short_name),
                bytes,
            )
        })
        .collect()
}

/// Writes [`generated_returns`] (ten years of quarters, with resubmissions) into `inbox`, each file a
/// second older than the next, as a long-running installation would have received them.
pub fn write_generated_inbox(
    schemas: &Schemas,
    inbox: &std::path::Path,
    count: usize,
) -> std::io::Result<()> {
    use std::time::{Duration, SystemTime};
    std::fs::create_dir_all(inbox)?;
    let start = SystemTime::now() - Duration::from_secs(count as u64 + 10);
    for (i, (name, bytes)) in generated_returns(schemas, count, 40, false)
        .into_iter()
        .enumerate()
    {
        let path = inbox.join(name);
        std::fs::write(&path, bytes)?;
        std::fs::File::options()
            .write(true)
            .open(&path)?
            .set_modified(start + Duration::from_secs(i as u64))?;
    }
    Ok(())
}
