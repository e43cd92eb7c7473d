//! The brand's basic information: name, website, timezone and currency, each checked so a
//! person can fix what is wrong.

use url::Url;

/// One field that breaks its rule, with what to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: &'static str,
    pub message: String,
}

/// Checked basic information.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BasicInfo {
    pub name: String,
    /// An http(s) URL.
    pub website: String,
    /// An IANA time zone name such as `Europe/Paris`, or `UTC`.
    pub timezone: String,
    /// An ISO 4217 code such as `EUR`.
    pub currency: String,
}

const MAX_NAME: usize = 100;
const MAX_WEBSITE: usize = 2048;

/// The IANA time zone database's areas; a zone name starts with one of them.
const TZ_AREAS: [&str; 11] = [
    "Africa",
    "America",
    "Antarctica",
    "Arctic",
    "Asia",
    "Atlantic",
    "Australia",
    "Etc",
    "Europe",
    "Indian",
    "Pacific",
];

/// ISO 4217 codes of currencies in use, sorted (binary search).
const CURRENCIES: [&str; 157] = [
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD",
    "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ",
    "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD",
    "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR",
    "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN",
    "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR",
    "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB",
    "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS",
    "VED", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW",
    "ZWG",
];

impl BasicInfo {
    /// Checks every field and reports every problem at once. Surrounding spaces are dropped.
    pub fn parse(
        name: &str,
        website: &str,
        timezone: &str,
        currency: &str,
    ) -> Result<BasicInfo, Vec<FieldProblem>> {
        let info = BasicInfo {
            name: name.trim().to_owned(),
            website: website.trim().to_owned(),
            timezone: timezone.trim().to_owned(),
            currency: currency.trim().to_owned(),
        };
        let mut problems = Vec::new();
        let mut check = |field: &'static str, result: Result<(), String>| {
            if let Err(message) = result {
                problems.push(FieldProblem { field, message });
            }
        };
        check("name", check_name(&info.name));
        check("website", check_website(&info.website));
        check("timezone", check_timezone(&info.timezone));
        check("currency", check_currency(&info.currency));
        if problems.is_empty() {
            Ok(info)
        } else {
            Err(problems)
        }
    }
}

fn check_name(name: &str) -> Result<(), String> {
    let length = name.chars().count();
    if (1..=MAX_NAME).contains(&length) {
        Ok(())
    } else {
        Err(format!(
            "Enter the brand's name (1 to {MAX_NAME} characters)."
        ))
    }
}

fn check_website(website: &str) -> Result<(), String> {
    let hint = "Enter the brand's website as a full address, like https://www.example.com.";
    if website.len() > MAX_WEBSITE {
        return Err(format!(
            "The website address is longer than {MAX_WEBSITE} characters."
        ));
    }
    let url = Url::parse(website).map_err(|_| hint.to_owned())?;
    let has_domain = url
        .host_str()
        .is_some_and(|host| host.contains('.') && !host.ends_with('.'));
    if !matches!(url.scheme(), "http" | "https") || !has_domain {
        return Err(hint.to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("Remove the user name and password from the website address.".to_owned());
    }
    Ok(())
}

/// `UTC`, or `Area/Location[/Sub]` with an IANA area, like `America/Argentina/Buenos_Aires`.
fn check_timezone(timezone: &str) -> Result<(), String> {
    let message = || {
        "Choose a time zone by its IANA name, like Europe/Paris or America/New_York (or UTC)."
            .to_owned()
    };
    if timezone == "UTC" {
        return Ok(());
    }
    let mut parts = timezone.split('/');
    let area = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.collect();
    let location_ok = |part: &&str| {
        let mut chars = part.chars();
        chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+'))
    };
    if TZ_AREAS.contains(&area)
        && (1..=2).contains(&rest.len())
        && rest.iter().all(location_ok)
        && timezone.len() <= 64
    {
        Ok(())
    } else {
        Err(message())
    }
}

fn check_currency(currency: &str) -> Result<(), String> {
    if CURRENCIES.binary_search(&currency).is_ok() {
        Ok(())
    } else {
        Err(
            "Choose the currency by its three-letter ISO 4217 code in capitals, like USD or EUR."
                .to_owned(),
        )
    }
}

#[cfg(test)]
pub(super) fn currencies_are_sorted() -> bool {
    CURRENCIES.windows(2).all(|pair| pair[0] < pair[1])
}
