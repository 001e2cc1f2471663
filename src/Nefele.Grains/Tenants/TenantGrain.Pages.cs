using Microsoft.Extensions.DependencyInjection;
using Nefele.Client;
using Nefele.Retention;
using Orleans.Storage;

namespace Nefele.Tenants;

/// <summary>
/// The tenant's large lists — its live NPIDs with their charges, its retained ended processes and
/// spawn requests — live in pages of at most <see cref="PageSize"/> entries, each a stored record
/// of its own (<see cref="TenantPage"/>). A change marks its page, and a write stores the marked
/// pages and then the tenant record, which holds only the tenant, its keys and where the pages
/// are. So a start or an end of a process costs one page and the small record, whatever the
/// number of live or retained entries; before, every write copied (or, with Redis, sent) them all.
/// Live NPIDs fill pages in the order they are indexed; a page that empties is deleted. Retained
/// entries are numbered in the order they were retained and page n holds numbers
/// n·PageSize … (n+1)·PageSize − 1; collection only moves the first kept number, and deletes the
/// pages wholly below it. Pages are stored before the record that names them, so a record
/// never points past what was stored; a change whose write did not finish was not answered.
/// </summary>
public sealed partial class TenantGrain
{
    private const int PageSize = 256;
    private const string PageState = "tenant-page";

    // In memory, the whole lists (kept as before); the pages are how they are stored.
    private readonly HashSet<string> _npids = new(StringComparer.Ordinal);
    private readonly Dictionary<string, QuotaCharge> _charges = new(StringComparer.Ordinal);
    private readonly RetainedLog _ended = new("ended");
    private readonly RetainedLog _requests = new("requests");

    private readonly Dictionary<string, int> _livePageOf = new(StringComparer.Ordinal);
    private readonly Dictionary<int, HashSet<string>> _livePageMembers = [];
    private readonly HashSet<int> _dirtyLive = [];
    private readonly Dictionary<string, IGrainState<TenantPage>> _pageStates = new(StringComparer.Ordinal);
    private int _openLivePage = -1;
    private int _openLiveFill;
    private IGrainStorage? _storage;

    private IGrainStorage Storage => _storage ??= ServiceProvider.GetRequiredKeyedService<IGrainStorage>(StorageNames.Default);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var r = state.State;
        if (r.Npids.Count > 0 || r.Charges.Count > 0 || r.Ended.Count > 0 || r.Requests.Count > 0)
        {
            // A record from before pages: its lists move to pages at its next write.
            foreach (var npid in r.Npids)
            {
                IndexAdd(npid, r.Charges.TryGetValue(npid, out var charge) ? charge : null);
            }

            r.EndedFirst = r.EndedNext = r.RequestsFirst = r.RequestsNext = 0;
            foreach (var e in r.Ended)
            {
                _ended.Append(r, e);
            }

            foreach (var e in r.Requests)
            {
                _requests.Append(r, e);
            }

            r.Npids = new(StringComparer.Ordinal);
            r.Charges = new(StringComparer.Ordinal);
            r.Ended = [];
            r.Requests = [];
        }
        else
        {
            await Task.WhenAll(r.LivePages.Select(p => ReadPageAsync("live", p)));
            foreach (var p in r.LivePages.Order())
            {
                var members = _livePageMembers[p] = new HashSet<string>(StringComparer.Ordinal);
                foreach (var (npid, charge) in _pageStates[PageKey("live", p)].State?.Live ?? [])
                {
                    members.Add(npid);
                    _livePageOf[npid] = p;
                    _npids.Add(npid);
                    if (charge != default)
                    {
                        _charges[npid] = charge;
                    }
                }
            }

            await _ended.LoadAsync(this, r.EndedFirst, r.EndedNext);
            await _requests.LoadAsync(this, r.RequestsFirst, r.RequestsNext);
        }

        if (_ended.Count > 0 || _requests.Count > 0)
        {
            // Expiry goes on after a restart (the timer starts with the first record retained).
            StartCollector();
        }

        await base.OnActivateAsync(cancellationToken);
    }

    /// <summary>Indexes a live NPID (with its charge, or none); false when it was indexed already.</summary>
    private bool IndexAdd(string npid, QuotaCharge? charge)
    {
        if (!_npids.Add(npid))
        {
            return false;
        }

        if (charge is { } c)
        {
            _charged = Charged + c - _charges.GetValueOrDefault(npid);
            _charges[npid] = c;
        }

        if (_openLivePage < 0 || _openLiveFill >= PageSize)
        {
            _openLivePage = state.State.NextLivePage++;
            _openLiveFill = 0;
            state.State.LivePages.Add(_openLivePage);
            _livePageMembers[_openLivePage] = new HashSet<string>(StringComparer.Ordinal);
        }

        _livePageMembers[_openLivePage].Add(npid);
        _livePageOf[npid] = _openLivePage;
        _openLiveFill++;
        _dirtyLive.Add(_openLivePage);
        return true;
    }

    /// <summary>Drops a live NPID and its charge; false when it was not indexed.</summary>
    private bool IndexRemove(string npid)
    {
        var charged = Charged;
        if (_charges.Remove(npid, out var charge))
        {
            _charged = charged - charge;
        }

        if (!_npids.Remove(npid))
        {
            return false;
        }

        if (_livePageOf.Remove(npid, out var page) && _livePageMembers.TryGetValue(page, out var members))
        {
            members.Remove(npid);
            _dirtyLive.Add(page);
        }

        return true;
    }

    /// <summary>What a write stores: each marked page as it is now (null: delete it). Taken in one turn, before the write awaits.</summary>
    private List<(string Kind, long Page, TenantPage? Content)> TakeDirtyPages()
    {
        var pages = new List<(string Kind, long Page, TenantPage? Content)>();
        foreach (var p in _dirtyLive)
        {
            var members = _livePageMembers.GetValueOrDefault(p);
            if (members is null || (members.Count == 0 && p != _openLivePage))
            {
                _livePageMembers.Remove(p);
                state.State.LivePages.Remove(p);
                pages.Add(("live", p, null));
                continue;
            }

            var live = new Dictionary<string, QuotaCharge>(members.Count, StringComparer.Ordinal);
            foreach (var npid in members)
            {
                live[npid] = _charges.GetValueOrDefault(npid);
            }

            pages.Add(("live", p, new TenantPage { Live = live }));
        }

        _dirtyLive.Clear();
        _ended.TakeDirty(pages);
        _requests.TakeDirty(pages);
        return pages;
    }

    private async Task WritePagesAsync(List<(string Kind, long Page, TenantPage? Content)> pages)
    {
        if (pages.Count > 0)
        {
            await Task.WhenAll(pages.Select(p => WritePageAsync(p.Kind, p.Page, p.Content)));
        }
    }

    private async Task WritePageAsync(string kind, long page, TenantPage? content)
    {
        var key = PageKey(kind, page);
        var id = PageId(key);
        if (content is null)
        {
            if (_pageStates.Remove(key, out var gone) && gone.RecordExists)
            {
                await Storage.ClearStateAsync(PageState, id, gone);
            }

            return;
        }

        if (!_pageStates.TryGetValue(key, out var stored))
        {
            _pageStates[key] = stored = new GrainState<TenantPage>(content);
        }

        stored.State = content;
        await Storage.WriteStateAsync(PageState, id, stored);
    }

    private async Task<TenantPage> ReadPageAsync(string kind, long page)
    {
        var key = PageKey(kind, page);
        var read = new GrainState<TenantPage>(new TenantPage());
        await Storage.ReadStateAsync(PageState, PageId(key), read);
        _pageStates[key] = read;
        return read.State ?? new TenantPage();
    }

    private string PageKey(string kind, long page) => $"{Name}/{kind}/{page}";

    private static GrainId PageId(string key) => GrainId.Create("nefele-tenant-page", key);

    /// <summary>A retained list (ended processes or spawn requests), numbered in the order retained, stored by page.</summary>
    private sealed class RetainedLog(string kind)
    {
        private readonly HashSet<long> _dirty = [];
        private readonly HashSet<long> _deleted = [];

        /// <summary>Kept entries, oldest first; the first is number <see cref="First"/>.</summary>
        public List<Retained> Items { get; } = [];

        public long First { get; private set; }

        public int Count => Items.Count;

        private long Next => First + Items.Count;

        public void Append(TenantRecord record, Retained entry)
        {
            // A page emptied by collection and retained into again is rewritten, not deleted.
            _deleted.Remove(Next / PageSize);
            _dirty.Add(Next / PageSize);
            Items.Add(entry);
            Save(record);
        }

        /// <summary>Removes the first <paramref name="n"/> entries; the pages wholly below the new first number are deleted.</summary>
        public List<string> TakeFront(TenantRecord record, int n)
        {
            var taken = Items.GetRange(0, n).ConvertAll(r => r.Id);
            var before = First;
            Items.RemoveRange(0, n);
            First += n;
            for (var p = before / PageSize; p < First / PageSize; p++)
            {
                _deleted.Add(p);
                _dirty.Remove(p);
            }

            if (Items.Count == 0 && First % PageSize != 0)
            {
                // Nothing kept: the page holding only collected entries goes too.
                _deleted.Add(First / PageSize);
                _dirty.Remove(First / PageSize);
            }

            Save(record);
            return taken;
        }

        public void TakeDirty(List<(string Kind, long Page, TenantPage? Content)> pages)
        {
            foreach (var p in _deleted)
            {
                pages.Add((kind, p, null));
            }

            foreach (var p in _dirty)
            {
                var start = Math.Max(p * PageSize, First);
                var end = Math.Min((p + 1) * PageSize, Next);
                if (end <= start)
                {
                    pages.Add((kind, p, null));
                    continue;
                }

                pages.Add((kind, p, new TenantPage { First = start, Retained = Items.GetRange((int)(start - First), (int)(end - start)) }));
            }

            _deleted.Clear();
            _dirty.Clear();
        }

        public async Task LoadAsync(TenantGrain tenant, long first, long next)
        {
            First = first;
            if (next <= first)
            {
                return;
            }

            var numbers = Enumerable.Range(0, (int)(((next - 1) / PageSize) - (first / PageSize) + 1)).Select(i => (first / PageSize) + i).ToArray();
            var pages = await Task.WhenAll(numbers.Select(p => tenant.ReadPageAsync(kind, p)));
            foreach (var page in pages)
            {
                for (var i = 0; i < page.Retained.Count; i++)
                {
                    var seq = page.First + i;
                    if (seq >= first && seq < next && seq == First + Items.Count)
                    {
                        Items.Add(page.Retained[i]);
                    }
                }
            }
        }

        private void Save(TenantRecord record)
        {
            if (kind == "ended")
            {
                (record.EndedFirst, record.EndedNext) = (First, Next);
            }
            else
            {
                (record.RequestsFirst, record.RequestsNext) = (First, Next);
            }
        }
    }
}
