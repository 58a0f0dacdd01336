using Lucene.Net.Analysis.En;
using Lucene.Net.Documents;
using Lucene.Net.Index;
using Lucene.Net.QueryParsers.Classic;
using Lucene.Net.Search;
using Lucene.Net.Search.Similarities;
using Lucene.Net.Store;
using Lucene.Net.Util;
using LlmAdapt.Retrieval.Evaluation;

namespace LlmAdapt.Benchmarks.Retrieval;

/// <summary>The peer: Lucene.Net 4.8 BM25 with EnglishAnalyzer over title + text, one query at a time.</summary>
internal sealed class LuceneBm25 : IDisposable
{
    private readonly RAMDirectory _directory = new();
    private readonly EnglishAnalyzer _analyzer = new(LuceneVersion.LUCENE_48);
    private readonly DirectoryReader _reader;
    private readonly IndexSearcher _searcher;
    private readonly QueryParser _parser;

    public LuceneBm25(BeirDataset dataset)
    {
        var config = new IndexWriterConfig(LuceneVersion.LUCENE_48, _analyzer) { Similarity = new BM25Similarity() };
        using (var writer = new IndexWriter(_directory, config))
        {
            foreach (var document in dataset.Corpus)
            {
                writer.AddDocument(new Lucene.Net.Documents.Document
                {
                    new StringField("id", document.Id, Field.Store.YES),
                    new TextField("body", $"{document.Title} {document.Text}", Field.Store.NO),
                });
            }

            writer.Commit();
        }

        _reader = DirectoryReader.Open(_directory);
        _searcher = new IndexSearcher(_reader) { Similarity = new BM25Similarity() };
        _parser = new QueryParser(LuceneVersion.LUCENE_48, "body", _analyzer);
    }

    public string[] Search(string query, int k)
    {
        var parsed = _parser.Parse(QueryParserBase.Escape(query));
        var top = _searcher.Search(parsed, k);
        return [.. top.ScoreDocs.Select(d => _searcher.Doc(d.Doc).Get("id"))];
    }

    public void Dispose()
    {
        _reader.Dispose();
        _analyzer.Dispose();
        _directory.Dispose();
    }
}
