//! The core's async pump (`wirekit_core::io::AsyncConn`) on tokio sockets, through
//! embedded-io-adapters' `FromTokio`, against the `wirekit` binary in both directions: what
//! a PC program embedding wirekit in a tokio application does (issue 16).

use std::time::Duration;

use embedded_io_adapters::tokio_1::FromTokio;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wirekit_core::frame::FrameConfig;
use wirekit_core::header::FileHeader;
use wirekit_core::io::{AsyncConn, Incoming};
use wirekit_core::transfer::{FileReceiver, FileSender};
use wirekit_tests::{args, wirekit, wirekit_server, Child, CHILD_LIMIT};

fn body(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 253) as u8 ^ (i >> 10) as u8).collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// What a tokio receiver got: the header's name and the body.
async fn receive_one(listener: &TcpListener) -> (String, Vec<u8>) {
    let (stream, _) = listener.accept().await.unwrap();
    let mut conn: AsyncConn<_, 4096> = AsyncConn::new(FromTokio::new(stream));
    let mut receiver: FileReceiver = FileReceiver::new(FrameConfig::seed());
    let (mut name, mut got) = (String::new(), Vec::new());
    let size = conn
        .receive_file(&mut receiver, |incoming| {
            match incoming {
                Incoming::Header(h) => name = h.filename.to_owned(),
                Incoming::Body(chunk) => got.extend_from_slice(chunk),
            }
            Ok::<(), ()>(())
        })
        .await
        .unwrap();
    assert_eq!(size, got.len() as u64);
    // Dropping the connection closes it cleanly: the seed sender's receipt.
    (name, got)
}

#[test]
fn tokio_receiver_on_the_async_pump_takes_a_file_from_wirekit_send() {
    let sent = body(3 << 20);
    let src = tempfile::tempdir().unwrap();
    let path = src.path().join("from wirekit.bin");
    std::fs::write(&path, &sent).unwrap();
    let rt = runtime();
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let cmd = args(wirekit(), ["file", "send", path.to_str().unwrap(), "--connect", &addr]);
    let sender = Child::spawn(cmd, "wirekit file send");
    let (name, got) = rt.block_on(async {
        tokio::time::timeout(CHILD_LIMIT, receive_one(&listener)).await.expect("no file came")
    });
    let out = sender.wait_output(CHILD_LIMIT);
    assert_eq!(out.code(), 0, "the sender saw the receipt:\n{out}");
    assert_eq!(name, "from wirekit.bin");
    assert!(got == sent, "{} bytes arrived, {} sent", got.len(), sent.len());
}

#[test]
fn tokio_sender_on_the_async_pump_gives_wirekit_recv_a_file() {
    let sent = body(2 << 20);
    let dst = tempfile::tempdir().unwrap();
    let d = dst.path().to_str().unwrap();
    let (receiver, addr) = wirekit_server(&["file", "recv", "--dir", d], "wirekit file recv");
    let rt = runtime();
    rt.block_on(async {
        let stream = TcpStream::connect(addr).await.unwrap();
        let mut conn: AsyncConn<_, 512> = AsyncConn::new(FromTokio::new(stream));
        let header = FileHeader { filename: "from tokio.bin", filepath: "", filesize: 2 << 20 };
        let mut sender = FileSender::new(FrameConfig::seed(), &header).unwrap();
        let mut source: &[u8] = &sent;
        let mut scratch = vec![0u8; 64 << 10];
        let n = conn.send_file(&mut sender, &mut source, &mut scratch).await.unwrap();
        assert_eq!(n, 2 << 20);
        // The receipt: the receiver's clean close once the file is durable under its name.
        let mut stream = conn.into_inner().into_inner();
        stream.shutdown().await.unwrap();
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut rest));
        assert_eq!(read.await.expect("no receipt").unwrap(), 0, "a receiver sends nothing");
    });
    let out = receiver.wait_output(CHILD_LIMIT);
    assert_eq!(out.code(), 0, "{out}");
    let got = std::fs::read(dst.path().join("from tokio.bin")).unwrap();
    assert!(got == sent, "{} bytes saved, {} sent", got.len(), sent.len());
}
