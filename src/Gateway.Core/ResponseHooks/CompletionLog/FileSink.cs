namespace Gateway.Core.ResponseHooks.CompletionLog;

/// <summary>
/// JSON lines appended to completion_log.path; when the file would pass max_file_bytes it is rotated to path.1
/// (path.1 to path.2, … keeping five).
/// </summary>
internal sealed class FileSink : ICompletionSink
{
    private const int KeptFiles = 5;
    private readonly string _path;
    private readonly long _maxBytes;
    private FileStream? _file;

    public FileSink(string path, long maxBytes)
    {
        _path = Path.GetFullPath(path);
        _maxBytes = maxBytes;
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
    }

    public async ValueTask<SinkResult> WriteAsync(IReadOnlyList<byte[]> records, CancellationToken cancellationToken)
    {
        foreach (var record in records)
        {
            var file = _file ??= Open();
            if (file.Length > 0 && file.Length + record.Length + 1 > _maxBytes)
            {
                await RotateAsync();
                file = _file = Open();
            }
            await file.WriteAsync(record, cancellationToken);
            file.WriteByte((byte)'\n');
        }
        if (_file is not null)
        {
            await _file.FlushAsync(cancellationToken);
        }
        return SinkResult.Written;
    }

    private FileStream Open() => new(_path, FileMode.Append, FileAccess.Write, FileShare.Read, 64 * 1024, useAsync: true);

    private async ValueTask RotateAsync()
    {
        if (_file is not null)
        {
            await _file.DisposeAsync();
            _file = null;
        }
        File.Delete($"{_path}.{KeptFiles}");
        for (int i = KeptFiles - 1; i >= 1; i--)
        {
            if (File.Exists($"{_path}.{i}"))
            {
                File.Move($"{_path}.{i}", $"{_path}.{i + 1}");
            }
        }
        File.Move(_path, $"{_path}.1");
    }

    public async ValueTask DisposeAsync()
    {
        if (_file is not null)
        {
            await _file.DisposeAsync();
        }
    }
}
