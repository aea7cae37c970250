//! Link-preview crawlers: who gets the Open Graph page instead of the viewer page; and people's
//! browsers, who get an HTML page for a dead link instead of the API's error.
//!
//! The named crawlers of the major networks and messengers, and anything that calls itself a
//! bot, crawler, spider or preview (case-insensitive substring match on `User-Agent`).

/// Substrings (lower case) of crawler user agents.
const MARKERS: &[&str] = &[
    "facebookexternalhit",
    "facebot",
    "twitterbot",
    "slackbot",
    "discordbot",
    "linkedinbot",
    "whatsapp",
    "telegrambot",
    "embedly",
    "bot",
    "crawler",
    "spider",
    "preview",
];

/// Whether a `User-Agent` is a link-preview crawler.
pub fn is_crawler(user_agent: &str) -> bool {
    let ua = user_agent.to_ascii_lowercase();
    MARKERS.iter().any(|m| ua.contains(m))
}

/// Whether a `User-Agent` is a person's web browser (they all call themselves `Mozilla/…`;
/// programs such as curl or API clients do not): who reads an HTML page instead of the API's
/// error. Crawlers say `Mozilla/` too — ask [`is_crawler`] first.
pub fn is_browser(user_agent: &str) -> bool {
    user_agent.trim_start().starts_with("Mozilla/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crawlers_and_people_are_told_apart() {
        for ua in [
            "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
            "Twitterbot/1.0",
            "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
            "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
            "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
            "WhatsApp/2.23.20.0",
            "TelegramBot (like TwitterBot)",
            "Googlebot/2.1",
            "SomeCrawler/3",
            "Mozilla/5.0 (compatible; link preview)",
        ] {
            assert!(is_crawler(ua), "{ua}");
        }
        for ua in [
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15",
            "",
        ] {
            assert!(!is_crawler(ua), "{ua}");
        }
        assert!(is_browser(
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
        ));
        for ua in [
            "curl/8.5.0",
            "iskra-engine/0.1.0",
            "python-requests/2.31",
            "",
        ] {
            assert!(!is_browser(ua), "{ua}");
        }
    }
}
