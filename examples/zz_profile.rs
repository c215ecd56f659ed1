//! Temporary profiler (not committed).
fn main() {
    let root = std::path::PathBuf::from(std::env::args().nth(1).unwrap());
    let schemas = collate::schema::load(&root.join("schemas")).unwrap();
    let mut n = 0;
    for e in std::fs::read_dir(root.join("inbox")).unwrap() {
        let p = e.unwrap().path();
        if !collate::pipeline::is_workbook_name(&p) { continue; }
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let v = collate::validate::validate_bytes(&schemas, &name, std::fs::read(&p).unwrap());
        n += postcard::to_allocvec(&v).unwrap().len();
    }
    eprintln!("{n}");
}
