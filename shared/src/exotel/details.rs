//! Get ExoPhone Details (`/v2/accounts/<sid>/incoming-phone-numbers[/<exophone_sid>]`): each
//! line's incoming and outgoing connectivity and the alternate ExoPhones Exotel suggests.
//! A heartbeat of PAYLOAD_TOO_LARGE lists no lines: this is then the only way to learn them.

use crate::exophone::{Direction, ExoPhoneSid, LineInfo, Outage};
use serde::Deserialize;

/// What Exotel's monitoring says about one direction of a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineHealth {
    Active,
    /// `major_outage` or `partial_network_outage`: calls fail, all or some of them.
    Affected,
    /// No status, or one Exotel added later: nothing is concluded from it.
    Unknown,
}

/// One ExoPhone as the details API describes it. The `connectivity` block has the same
/// shape as the one some heartbeats carry per line, so it is read as a `LineInfo`.
#[derive(Clone, Debug, PartialEq)]
pub struct ExoPhoneDetails {
    pub sid: ExoPhoneSid,
    pub info: LineInfo,
}

impl ExoPhoneDetails {
    pub fn health(&self, direction: Direction) -> LineHealth {
        let status = self
            .info
            .connectivity(direction)
            .and_then(|c| c.status.as_deref());
        match status {
            Some("active") => LineHealth::Active,
            Some(other) if Outage::parse(other).is_some() => LineHealth::Affected,
            _ => LineHealth::Unknown,
        }
    }
}

/// One block of the `response` array: a line, or the reason Exotel gave none.
#[derive(Deserialize)]
struct Block {
    #[serde(default)]
    code: Option<u16>,
    #[serde(default)]
    data: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Data {
    sid: ExoPhoneSid,
    #[serde(flatten)]
    info: LineInfo,
}

/// The lines of one details response, and how many blocks carried no readable line
/// (a 404 for one SID, say, inside a 207).
#[derive(Debug, Default, PartialEq)]
pub struct DetailsBlocks {
    pub lines: Vec<ExoPhoneDetails>,
    pub unreadable: u32,
}

/// Reads the `response` array of a details answer; `None` if the body has none.
pub fn read_blocks(body: &serde_json::Value) -> Option<DetailsBlocks> {
    let blocks = body.get("response")?.as_array()?;
    let mut read = DetailsBlocks::default();
    for block in blocks {
        let line = serde_json::from_value::<Block>(block.clone())
            .ok()
            .filter(|b| b.code.is_none_or(|c| c == 200))
            .and_then(|b| b.data)
            .and_then(|d| serde_json::from_value::<Data>(d).ok());
        match line {
            Some(d) => read.lines.push(ExoPhoneDetails {
                sid: d.sid,
                info: d.info,
            }),
            None => read.unreadable += 1,
        }
    }
    Some(read)
}

#[cfg(test)]
#[path = "details_test.rs"]
mod tests;
