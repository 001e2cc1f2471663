using Microsoft.AspNetCore.Http.Features;
using Nefele.Client;
using Nefele.Images;

namespace Nefele.Silo.Api;

/// <summary>
/// The tenant's images: upload a layer (a root filesystem tarball, streamed to the shared
/// directory), tag it with a config, list, inspect and delete tags. A push is the upload, then the tag.
/// </summary>
internal static class ImageEndpoints
{
    private const string LayersSuffix = "/images/layers";

    /// <summary>The one route whose body may be an image layer, up to <see cref="Validation.Limits.MaxImageLayerBytes"/>, instead of a JSON body.</summary>
    public static bool IsLayerUpload(HttpRequest request) =>
        HttpMethods.IsPost(request.Method) && request.Path.Value is { } path && path.StartsWith("/v1/tenants/", StringComparison.Ordinal)
        && path.EndsWith(LayersSuffix, StringComparison.Ordinal) && path.AsSpan("/v1/tenants/".Length).Count('/') == 2;

    public static void MapImageEndpoints(this IEndpointRouteBuilder app)
    {
        var images = app.MapGroup("/v1/tenants/{tenant}/images").WithTags("images");

        images.MapGet("", (string tenant, ImageStore store) =>
            Results.Ok(store.List(Validated(tenant))))
            .RequireAuthorization(Auth.Policies.TenantViewer)
            .Produces<ImageList>()
            .Operation("listImages", "The tenant's images, one entry per tag, sorted by name and tag", 400, 403);

        images.MapPost("/layers", async (string tenant, string? digest, ImageStore store, HttpContext http) =>
        {
            var layer = await store.WriteLayerAsync(Validated(tenant), http.Request.Body, digest, http.RequestAborted);
            return Results.Created($"/v1/tenants/{tenant}/images/layers/{layer.Digest}", layer);
        })
            .RequireAuthorization(Auth.Policies.TenantMember)
            .Accepts<Stream>("application/octet-stream", "application/x-tar", "application/gzip")
            .Produces<UploadedLayer>(StatusCodes.Status201Created)
            .WithDescription($"Streams a root filesystem tarball (plain or gzip) into the tenant's image store, at most {Validation.Limits.MaxImageLayerBytes} bytes (413 payload_too_large beyond). With ?digest=sha256:<hex> the bytes must have that digest (400 digest_mismatch otherwise); either way nothing is kept unless the whole body arrived. Tag it with PUT .../images/{{name}}/{{tag}}.")
            .Operation("uploadImageLayer", "Upload an image layer (root filesystem tarball); answers its sha256 digest", 400, 403, 413);

        images.MapPut("/{name}/{tag}", (string tenant, string name, string tag, ImageTagRequest body, ImageStore store) =>
            Results.Ok(store.Tag(Validated(tenant), name, tag, body)))
            .RequireAuthorization(Auth.Policies.TenantMember)
            .Produces<ImageInfo>()
            .WithDescription($"Points NAME:TAG at the image made of an uploaded layer and a config (cmd, env, user, workingDir, systemd), replacing what the tag pointed at. Names: {ImageReference.Rule}. An unknown layer is image_not_found.")
            .Operation("tagImage", "Tag an uploaded layer and its config as an image", [.. ApiDocs.Body, 403, 404]);

        images.MapPost("/{name}/{tag}/commit", async (string tenant, string name, string tag, ImageCommitRequest body, IGrainFactory grains, HttpContext http) =>
            Results.Ok(await grains.GetGrain<IImageGrain>(Validated(tenant)).CommitAsync(body.Npid, name, tag, http.RequestAborted)))
            .RequireAuthorization(Auth.Policies.TenantMember)
            .Produces<ImageInfo>()
            .WithDescription("Points NAME:TAG at a new image: the image the process npid runs (or ran) from, plus one layer holding the changes the tenant's processes made in that image's development overlay on the process's node (files written and deleted, as OCI whiteouts), with the source's config. The node must run containers in development mode (409 not_development_mode); 404 overlay_not_found when nothing was written there, npid_not_found for an unknown process; 400 when the process runs from no image. Nothing is stored on a failure; the source image is unchanged.")
            .Operation("commitImage", "Commit a development overlay as a new image tag", [.. ApiDocs.Body, 403, 404, 409]);

        images.MapGet("/{name}/{tag}", (string tenant, string name, string tag, ImageStore store) =>
            Results.Ok(store.Inspect(Validated(tenant), name, tag)))
            .RequireAuthorization(Auth.Policies.TenantViewer)
            .Produces<ImageInfo>()
            .Operation("inspectImage", "One tag: its digest, layer, size and config", 400, 403, 404);

        images.MapDelete("/{name}/{tag}", (string tenant, string name, string tag, ImageStore store) =>
        {
            store.Delete(Validated(tenant), name, tag);
            return Results.NoContent();
        })
            .RequireAuthorization(Auth.Policies.TenantMember)
            .Produces(StatusCodes.Status204NoContent)
            .WithDescription("Removes the tag; its image and layer go when no other tag of the tenant uses them. Processes running from it keep running.")
            .Operation("deleteImage", "Delete an image tag", 400, 403, 404);
    }

    /// <summary>The tenant's default image: PUT sets it (or clears it with null).</summary>
    public static void MapDefaultImageEndpoint(this IEndpointRouteBuilder app) =>
        app.MapPut("/v1/tenants/{tenant}/default-image", async (string tenant, DefaultImageBody body, IGrainFactory grains, HttpContext http) =>
            Results.Ok(await grains.GetGrain<Tenants.ITenantGrain>(Validated(tenant)).SetDefaultImageAsync(body.Image, http.RequestAborted)))
            .WithTags("images")
            .RequireAuthorization(Auth.Policies.TenantOwner)
            .Produces<TenantInfo>()
            .WithDescription("Sets the image a spawn that names none runs from (NAME[:TAG], which the tenant must have: image_not_found otherwise); {\"image\": null} clears it. The spec's own image, when it names one, wins.")
            .Operation("setDefaultImage", "Set or clear the tenant's default image", [.. ApiDocs.Body, 403, 404]);

    /// <summary>Raises the body limit for a layer upload before any byte is read.</summary>
    public static void AllowLayerBody(HttpContext context)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = Validation.Limits.MaxImageLayerBytes + 1;
        }
    }

    private static string Validated(string tenant)
    {
        Validation.Names.ValidateTenantName(tenant);
        return tenant;
    }
}
