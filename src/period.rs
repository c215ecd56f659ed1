//! UK police financial years (April–March) and their quarters, parsed from what departments type.

use std::fmt;

/// A financial year named by the calendar year it starts in: `2020` is 2020/21 (April 2020 – March 2021).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct FinancialYear(pub i32);

impl FinancialYear {
    /// Reads "2020/21", "2020-21", "2020/2021", "FY2020/21" or "2020 / 21".
    pub fn parse(text: &str) -> Option<FinancialYear> {
        let cleaned: String = text
            .trim()
            .trim_start_matches(|c: char| c.is_ascii_alphabetic())
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let (start, end) = cleaned.split_once(['/', '-'])?;
        let start: i32 = start.parse().ok()?;
        if !(1900..=2999).contains(&start) {
            return None;
        }
        let digits = end.len();
        let end: i32 = end.parse().ok()?;
        let next = start + 1;
        // The digits as typed decide: "1999/00" ends in 00, which is not the number 0's one digit.
        let matches = match digits {
            2 => end == next % 100,
            4 => end == next,
            _ => false,
        };
        matches.then_some(FinancialYear(start))
    }

    pub fn previous(self) -> FinancialYear {
        FinancialYear(self.0 - 1)
    }

    pub fn offset(self, years: i32) -> FinancialYear {
        FinancialYear(self.0 + years)
    }
}

impl fmt::Display for FinancialYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{:02}", self.0, (self.0 + 1).rem_euclid(100))
    }
}

/// A quarter of the financial year: QTR 1 is April–June … QTR 4 is January–March.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Quarter(u8);

impl Quarter {
    pub const ALL: [Quarter; 4] = [Quarter(1), Quarter(2), Quarter(3), Quarter(4)];

    pub fn new(number: u8) -> Option<Quarter> {
        (1..=4).contains(&number).then_some(Quarter(number))
    }

    pub fn number(self) -> u8 {
        self.0
    }

    /// Reads "Q2", "QTR 2", "Quarter 2", "qtr2" or a bare "2".
    pub fn parse(text: &str) -> Option<Quarter> {
        let lower = text.trim().to_ascii_lowercase();
        let digits = lower
            .trim_start_matches("quarter")
            .trim_start_matches("qtr")
            .trim_start_matches('q')
            .trim();
        // Excel often stores a typed "2" as the number 2.0.
        let digits = digits.strip_suffix(".0").unwrap_or(digits);
        Quarter::new(digits.parse().ok()?)
    }

    /// The last day of this quarter of `year`.
    pub fn last_day(self, year: FinancialYear) -> Option<chrono::NaiveDate> {
        let (calendar_year, month, day) = match self.0 {
            1 => (year.0, 6, 30),
            2 => (year.0, 9, 30),
            3 => (year.0, 12, 31),
            _ => (year.0 + 1, 3, 31),
        };
        chrono::NaiveDate::from_ymd_opt(calendar_year, month, day)
    }

    /// The heading the seed dashboard uses for this quarter.
    pub fn heading(self) -> String {
        format!("QTR {}", self.0)
    }
}

impl fmt::Display for Quarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Q{}", self.0)
    }
}

/// The period a return reports on: a quarter of a financial year, or a whole year (historical returns).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Period {
    pub year: FinancialYear,
    pub quarter: Option<Quarter>,
}

impl Period {
    /// The quarter that most recently ended on or before `date`: the one whose returns are being collected.
    pub fn most_recently_ended(date: chrono::NaiveDate) -> Period {
        use chrono::Datelike;
        let month = date.month() as i32;
        let year = if month >= 4 {
            date.year()
        } else {
            date.year() - 1
        };
        let current = (((month + 8) % 12) / 3 + 1) as u8;
        let (year, quarter) = if current == 1 {
            (year - 1, 4)
        } else {
            (year, current - 1)
        };
        Period {
            year: FinancialYear(year),
            quarter: Quarter::new(quarter),
        }
    }

    /// The first day of the period (1 April for a whole year).
    pub fn first_day(self) -> Option<chrono::NaiveDate> {
        let (calendar_year, month) = match self.quarter.map(Quarter::number) {
            None | Some(1) => (self.year.0, 4),
            Some(2) => (self.year.0, 7),
            Some(3) => (self.year.0, 10),
            Some(_) => (self.year.0 + 1, 1),
        };
        chrono::NaiveDate::from_ymd_opt(calendar_year, month, 1)
    }

    /// The quarter after this one (the first quarter of the next year after a fourth quarter or a
    /// whole year).
    pub fn next_quarter(self) -> Period {
        match self.quarter.map(Quarter::number) {
            Some(n @ 1..=3) => Period {
                year: self.year,
                quarter: Quarter::new(n + 1),
            },
            _ => Period {
                year: self.year.offset(1),
                quarter: Quarter::new(1),
            },
        }
    }

    /// Quarters counted from year 0, a whole year as its fourth quarter: for telling how far apart two
    /// periods are.
    pub fn quarter_index(self) -> i64 {
        i64::from(self.year.0) * 4 + i64::from(self.quarter.map_or(4, Quarter::number)) - 1
    }

    /// Reads a period as a user writes it on the command line: "2020/21-Q2", "2020/21 Q2" or "2020/21".
    pub fn parse(text: &str) -> Option<Period> {
        let text = text.trim();
        if let Some(year) = FinancialYear::parse(text) {
            return Some(Period {
                year,
                quarter: None,
            });
        }
        let split = text.rfind([' ', '-', '_'])?;
        let (year, quarter) = text.split_at(split);
        Some(Period {
            year: FinancialYear::parse(year)?,
            quarter: Some(Quarter::parse(&quarter[1..])?),
        })
    }
}

/// Which periods the outputs are for, as the owner asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PeriodChoice {
    /// The quarter being collected (see `consolidate::collected_quarter`), for the dashboard and the
    /// chase list (the default).
    #[default]
    Latest,
    /// This period, for both (`--period 2020/21-Q2`).
    Named(Period),
    /// The dashboard for the quarter being collected, so the board never gets an empty one; the chase
    /// list for this period, the quarter whose returns are due (`--period due`).
    Due(Period),
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.quarter {
            Some(quarter) => write!(f, "{} {}", self.year, quarter),
            None => write!(f, "{}", self.year),
        }
    }
}

/// `Option<NaiveDate>` as `"2015-11-30"` or null, for serde (chrono's own serde support would rebuild
/// polars, which shares chrono, with another feature).
pub mod optional_date {
    use chrono::NaiveDate;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        date: &Option<NaiveDate>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match date {
            Some(date) => serializer.serialize_some(&date.format("%Y-%m-%d").to_string()),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<NaiveDate>, D::Error> {
        Option::<String>::deserialize(deserializer)?
            .map(|text| {
                NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(serde::de::Error::custom)
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn financial_years_read_in_the_ways_departments_write_them() {
        for text in [
            "2020/21",
            "2020-21",
            "2020/2021",
            "FY2020/21",
            " 2020 / 21 ",
        ] {
            assert_eq!(
                FinancialYear::parse(text),
                Some(FinancialYear(2020)),
                "{text}"
            );
        }
        assert_eq!(FinancialYear(1999).to_string(), "1999/00");
        assert_eq!(FinancialYear::parse("1999/00"), Some(FinancialYear(1999)));
        assert_eq!(FinancialYear::parse("2009/10"), Some(FinancialYear(2009)));
        assert_eq!(FinancialYear::parse("1999/2000"), Some(FinancialYear(1999)));
        assert_eq!(FinancialYear(2020).to_string(), "2020/21");
    }

    #[test]
    fn inconsistent_or_unreadable_years_are_refused() {
        for text in ["2020/22", "2020", "twenty", "", "2020/2022", "20/21"] {
            assert_eq!(FinancialYear::parse(text), None, "{text}");
        }
    }

    #[test]
    fn quarters_read_in_the_ways_departments_write_them() {
        for text in ["Q2", "QTR 2", "Quarter 2", "qtr2", "2", "2.0"] {
            assert_eq!(Quarter::parse(text), Quarter::new(2), "{text}");
        }
        for text in ["Q5", "Q0", "second", ""] {
            assert_eq!(Quarter::parse(text), None, "{text}");
        }
    }

    #[test]
    fn the_quarter_being_collected_is_the_one_most_recently_ended() {
        let on = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).expect("date");
        assert_eq!(
            Period::most_recently_ended(on(2020, 10, 15)).to_string(),
            "2020/21 Q2"
        );
        assert_eq!(
            Period::most_recently_ended(on(2021, 2, 1)).to_string(),
            "2020/21 Q3"
        );
        assert_eq!(
            Period::most_recently_ended(on(2021, 5, 1)).to_string(),
            "2020/21 Q4"
        );
        assert_eq!(
            Quarter::new(4).and_then(|q| q.last_day(FinancialYear(2020))),
            Some(on(2021, 3, 31))
        );
    }

    #[test]
    fn periods_parse_from_the_command_line() {
        let period = Period::parse("2020/21-Q2").expect("period");
        assert_eq!(period.to_string(), "2020/21 Q2");
        assert_eq!(Period::parse("2019/20").map(|p| p.quarter), Some(None));
    }
}
