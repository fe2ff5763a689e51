namespace Gateway.Core.Models;

/// <summary>The current model list. The request path reads it; only the background refresh replaces it.</summary>
internal sealed class ModelCatalogHolder
{
    private ModelCatalog _current;

    public ModelCatalogHolder(ModelCatalog initial) => _current = initial;

    public ModelCatalog Current => Volatile.Read(ref _current);

    /// <summary>Raised after a new catalog was published (by the refresh loop, never on the request path).</summary>
    public event Action<ModelCatalog>? Published;

    public void Publish(ModelCatalog next)
    {
        Volatile.Write(ref _current, next);
        Published?.Invoke(next);
    }
}
