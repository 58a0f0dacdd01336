namespace LlmAdapt.Hosting;

/// <summary>A request the server refuses, carrying the HTTP status and OpenAI's error fields.</summary>
internal sealed class OpenAIRequestException : Exception
{
    public OpenAIRequestException(int status, string message, string? param = null, string? code = null, string type = "invalid_request_error")
        : base(message)
    {
        Status = status;
        Param = param;
        Code = code;
        Type = type;
    }

    public OpenAIRequestException()
        : this(400, "Bad request.")
    {
    }

    public OpenAIRequestException(string message)
        : this(400, message)
    {
    }

    public OpenAIRequestException(string message, Exception innerException)
        : base(message, innerException)
    {
        Status = 400;
        Type = "invalid_request_error";
    }

    public int Status { get; }

    public string? Param { get; }

    public string? Code { get; }

    public string Type { get; }

    public static OpenAIRequestException Invalid(string param, string message) => new(400, message, param);

    public static OpenAIRequestException Unsupported(string param, string message) => new(400, message, param, "unsupported_parameter");
}
