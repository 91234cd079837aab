//! `convergent-node`: one replica of the demo shopping list on a UDP socket, driven over
//! stdin/stdout (see `convergent_net::demo`).
//!
//! ```text
//! convergent-node --bind 127.0.0.1:7001 --data /tmp/a.redb
//! convergent-node --bind 127.0.0.1:7002 --peer 127.0.0.1:7001 --data /tmp/b.redb
//! ```

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let config = match convergent_net::demo::parse_args(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("convergent-node: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = convergent_net::demo::serve(config).await {
        eprintln!("convergent-node: {e}");
        std::process::exit(1);
    }
}
