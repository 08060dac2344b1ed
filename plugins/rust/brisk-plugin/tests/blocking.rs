//! The blocking variant of the macro sets BRISK_CAP_BLOCKING.

use brisk_plugin::abi::BRISK_CAP_BLOCKING;
use brisk_plugin::testing::fake_host;
use brisk_plugin::{brisk_plugin, Config, Outcome, Plugin, Request, Response};

struct Slow;

impl Plugin for Slow {
    fn create(_: &Config) -> Result<Self, String> {
        Ok(Slow)
    }

    fn handle(&self, _: &Request, res: &mut Response) -> Outcome {
        std::thread::sleep(std::time::Duration::from_millis(1));
        res.write("slept").into()
    }
}

brisk_plugin!(Slow, "slow", "0.1.0", blocking);

#[test]
fn blocking_capability() {
    // SAFETY: the fake host table lives for the process.
    let d = unsafe { &*brisk_plugin_entry_v1(1, 0, fake_host()) };
    assert_eq!(d.capabilities, BRISK_CAP_BLOCKING);
}
